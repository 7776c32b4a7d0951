import Mustache

/// The console's pages, as Mustache templates compiled into the binary (a deployment copies one
/// file). `{{x}}` escapes HTML; the only unescaped insertion is `{{{body}}}`, a page this
/// library rendered.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in sources {
            // The templates are constants of this file: one that doesn't parse is a build mistake
            // the console's tests catch.
            templates[name] = try! MustacheTemplate(string: text)
        }
        return MustacheLibrary(templates: templates)
    }()

    static let sources: [String: String] = [
        "layout": layout, "login": login, "overview": overview, "tokens": tokens, "message": message, "usage": usage, "setup": setup, "credentials": credentials, "adminUsers": adminUsers, "adminUser": adminUser, "adminAudit": adminAudit, "adminCache": adminCache, "adminUpstreams": adminUpstreams, "adminRepository": adminRepository,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Tollgate</title>
        <link rel="icon" href="{{prefix}}/static/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="{{prefix}}/static/console.css">
        <script src="{{prefix}}/static/console.js" defer></script>
        </head>
        <body>
        <header class="top">
          <a class="brand" href="{{prefix}}/">Tollgate</a>
          {{#user}}
          <nav>
            <a href="{{prefix}}/"{{#nav.overview}} aria-current="page"{{/nav.overview}}>Overview</a>
            <a href="{{prefix}}/activity"{{#nav.usage}} aria-current="page"{{/nav.usage}}>Usage</a>
            <a href="{{prefix}}/tokens"{{#nav.tokens}} aria-current="page"{{/nav.tokens}}>Tokens</a>
            <a href="{{prefix}}/credentials"{{#nav.credentials}} aria-current="page"{{/nav.credentials}}>Upstream logins</a>
            <a href="{{prefix}}/setup"{{#nav.setup}} aria-current="page"{{/nav.setup}}>Setup</a>
            {{#admin}}<a href="{{prefix}}/admin/users"{{#nav.admin}} aria-current="page"{{/nav.admin}}>Users</a>
            <a href="{{prefix}}/admin/cache"{{#nav.cache}} aria-current="page"{{/nav.cache}}>Cache</a>
            <a href="{{prefix}}/admin/upstreams"{{#nav.upstreams}} aria-current="page"{{/nav.upstreams}}>Upstreams</a>
            <a href="{{prefix}}/admin/audit"{{#nav.audit}} aria-current="page"{{/nav.audit}}>Audit log</a>{{/admin}}
          </nav>
          <form class="logout" method="post" action="{{prefix}}/logout">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <span class="who">{{user}}</span> <button type="submit">Log out</button>
          </form>
          {{/user}}
        </header>
        <main>
        {{{body}}}
        </main>
        </body>
        </html>
        """

    static let login = """
        <section class="card narrow">
          <h1>Log in</h1>
          <p class="muted">Your mirror account: the password, or a personal access token.</p>
          {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
          <form method="post" action="{{prefix}}/login">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>User name <input name="username" autocomplete="username" required value="{{username}}"></label>
            <label>Password or token <input name="password" type="password" autocomplete="current-password" required></label>
            <button type="submit">Log in</button>
          </form>
        </section>
        """

    static let overview = """
        <h1>Hello, {{user}}</h1>
        <p>Plan <strong>{{plan}}</strong>. Pull through <code>{{mirror}}</code>.</p>
        {{#reached}}<p class="alert" role="alert">{{.}}</p>{{/reached}}
        <section class="meters">
        {{#meters}}
          <div class="meter{{#reached}} reached{{/reached}}" id="meter-{{key}}">
            <h2>{{title}}</h2>
            <p class="figure"><span class="used">{{used}}</span> of <span class="limit">{{limit}}</span></p>
            {{#bounded}}<div class="bar" role="img" aria-label="{{percent}} percent used"><span class="fill w{{percent}}"></span></div>{{/bounded}}
            {{#resets}}<p class="muted">Starts again <time datetime="{{iso}}">{{text}}</time></p>{{/resets}}
          </div>
        {{/meters}}
        </section>
        """

    static let tokens = """
        <h1>Access tokens</h1>
        <p class="muted">Use a token instead of your password with docker, podman, containerd, Kubernetes and CI.
        A token works until it expires or you revoke it.</p>
        {{#created}}
        <section class="card created" id="new-token">
          <h2>Token “{{label}}” created</h2>
          <p class="alert">Copy it now: it is shown only once.</p>
          <div class="copyable"><pre id="secret">{{secret}}</pre><button type="button" class="copy" data-copy="secret">Copy</button></div>
          {{#snippets}}
          <h3>{{title}}</h3>
          <div class="copyable"><pre id="{{id}}">{{text}}</pre><button type="button" class="copy" data-copy="{{id}}">Copy</button></div>
          {{/snippets}}
        </section>
        {{/created}}
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        <section class="card">
          <h2>New token</h2>
          <form method="post" action="{{prefix}}/tokens" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Label <input name="label" maxlength="100" placeholder="ci-runner" required></label>
            <label>Expires <select name="expires">
              <option value="30d">in 30 days</option><option value="90d" selected>in 90 days</option>
              <option value="365d">in a year</option><option value="never">never</option>
            </select></label>
            <button type="submit">Create</button>
          </form>
        </section>
        <section class="card">
          <h2>Your tokens</h2>
          {{^tokens}}<p class="muted">No tokens yet.</p>{{/tokens}}
          {{#hasTokens}}
          <table class="list">
            <thead><tr><th>Label</th><th>Created</th><th>Expires</th><th>Last used</th><th></th></tr></thead>
            <tbody>
            {{#tokens}}
            <tr id="token-{{id}}">
              <td>{{label}}</td><td>{{created}}</td><td>{{expires}}</td><td>{{lastUsed}}</td>
              <td><form method="post" action="{{prefix}}/tokens/{{id}}/revoke" data-confirm="Revoke the token “{{label}}”? Clients using it stop pulling.">
                <input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="danger">Revoke</button></form></td>
            </tr>
            {{/tokens}}
            </tbody>
          </table>
          {{/hasTokens}}
        </section>
        """

    static let usage = """
        <h1>Usage</h1>
        <p class="muted">The last {{days}} days, by UTC day. <a href="{{prefix}}/activity.csv">Download as CSV</a></p>
        <section class="card"><h2>Pulls per day</h2>{{{pullsChart}}}</section>
        <section class="card"><h2>Bytes per day</h2>{{{bytesChart}}}</section>
        <section class="card"><h2>Bytes from the cache and from upstream</h2>{{{sourceChart}}}</section>
        <section class="card">
          <h2>By day and upstream</h2>
          {{^hasRows}}<p class="muted">No use in these days.</p>{{/hasRows}}
          {{#hasRows}}
          <table class="list" id="usage-table">
            <thead><tr><th>Day</th><th>Upstream</th><th>Requests</th><th>Pulls</th><th>Bytes</th><th>From cache</th><th>From upstream</th></tr></thead>
            <tbody>
            {{{rowsHTML}}}
            </tbody>
            {{#total}}<tfoot><tr><th>Total</th><th></th><th>{{requests}}</th><th>{{pulls}}</th><th>{{bytes}}</th><th>{{hit}}</th><th>{{fetched}}</th></tr></tfoot>{{/total}}
          </table>
          {{/hasRows}}
        </section>
        """

    static let setup = """
        <h1>Set up your clients</h1>
        <p class="muted">Filled in for <code>{{mirror}}</code> and <strong>{{user}}</strong>. Where a snippet says
        YOUR_TOKEN, <a href="{{prefix}}/tokens">create a token</a> (its page shows these snippets with the token in them).
        Upstreams on this mirror: {{#upstreams}}<code>{{.}}</code> {{/upstreams}}</p>
        {{#snippets}}
        <section class="card">
          <h2>{{title}}</h2>
          <div class="copyable"><pre id="{{id}}">{{text}}</pre><button type="button" class="copy" data-copy="{{id}}">Copy</button></div>
        </section>
        {{/snippets}}
        """

    static let credentials = """
        <h1>Your upstream logins</h1>
        <p class="muted">Your own account at an upstream registry (a private Docker Hub repository, say). The mirror
        uses it for your pulls from that upstream, and what it fetches with it is yours alone. Passwords are stored
        encrypted and never shown again.</p>
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#upstreams}}
        <section class="card" id="upstream-{{name}}">
          <h2>{{name}}</h2>
          {{#username}}<p>Logged in as <strong>{{username}}</strong> since {{since}}.
            {{#checked}}<span class="{{#refused}}refused{{/refused}}{{^refused}}accepted{{/refused}}">{{checked}}</span>{{/checked}}
            {{^checked}}<span class="muted">Not used by a pull yet.</span>{{/checked}}</p>
          <form method="post" action="{{prefix}}/credentials/{{name}}/remove" data-confirm="Remove your login for {{name}}? Your pulls from it go back to the mirror's shared access.">
            <input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="danger">Remove</button></form>{{/username}}
          {{^username}}<p class="muted">Not set: your pulls from {{name}} use the mirror's shared access.</p>{{/username}}
          <form method="post" action="{{prefix}}/credentials/{{name}}" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>User name <input name="username" autocomplete="off" required maxlength="256" value="{{username}}"></label>
            <label>Password or access token <input name="password" type="password" autocomplete="new-password" required></label>
            <button type="submit">{{#username}}Replace{{/username}}{{^username}}Save{{/username}}</button>
          </form>
        </section>
        {{/upstreams}}
        """

    static let adminUsers = """
        <h1>Users</h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        {{#createdPassword}}<div class="card created"><p>Initial password for <strong>{{createdUser}}</strong>, shown once:</p>
          <div class="copyable"><pre id="new-password">{{createdPassword}}</pre><button type="button" class="copy" data-copy="new-password">Copy</button></div></div>{{/createdPassword}}
        {{#hasExpiring}}<section class="card"><h2>Accounts ending in the next 14 days</h2><ul>
          {{#expiring}}<li><a href="{{prefix}}/admin/user?name={{urlName}}">{{name}}</a>: last day {{day}}</li>{{/expiring}}</ul></section>{{/hasExpiring}}
        <form method="get" action="{{prefix}}/admin/users" class="inline card">
          <label>Search names <input name="q" value="{{q}}" maxlength="255"></label>
          <label>Sort by <select name="sort">{{#sorts}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/sorts}}</select></label>
          <button type="submit">Show</button>
        </form>
        <p class="muted">{{count}} user(s){{#q}} matching “{{q}}”{{/q}} · page {{page}} of {{pages}}</p>
        <table class="list" id="users">
          <thead><tr><th>User</th><th>Plan</th><th>State</th><th>Pulls today</th><th>Bytes this month</th><th>Last seen</th></tr></thead>
          <tbody>
          {{#users}}<tr><td><a href="{{prefix}}/admin/user?name={{urlName}}">{{name}}</a></td><td>{{plan}}</td><td>{{state}}</td>
            <td>{{pulls}}</td><td>{{bytes}}</td><td>{{seen}}</td></tr>{{/users}}
          </tbody>
        </table>
        <p>{{#prev}}<a href="{{prefix}}/admin/users?{{prev}}">← Previous</a> {{/prev}}{{#next}}<a href="{{prefix}}/admin/users?{{next}}">Next →</a>{{/next}}</p>
        <section class="card">
          <h2>New user</h2>
          <form method="post" action="{{prefix}}/admin/users" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>User name <input name="name" required maxlength="255" autocomplete="off"></label>
            <label>Password (empty: one is made and shown once) <input name="password" type="password" autocomplete="new-password"></label>
            <button type="submit">Create</button>
          </form>
        </section>
        """

    static let adminUser = """
        <p><a href="{{prefix}}/admin/users">← Users</a></p>
        <h1>{{name}}</h1>
        <p>{{state}}</p>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        {{#newPassword}}<div class="card created"><p>New password, shown once:</p>
          <div class="copyable"><pre id="new-password">{{newPassword}}</pre><button type="button" class="copy" data-copy="new-password">Copy</button></div></div>{{/newPassword}}
        <section class="card" id="plan">
          <h2>Plan and limits</h2>
          <table class="list">{{#limits}}<tr><td>{{title}}</td><td>{{value}}</td></tr>{{/limits}}</table>
          <p class="muted">Allow: {{allow}} · Deny: {{deny}}{{#overrides}} · Overrides: {{overrides}}{{/overrides}}</p>
          <form method="post" action="{{prefix}}/admin/user/plan" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <label>Plan <select name="plan">{{#plans}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/plans}}</select></label>
            <button type="submit">Set plan</button>
          </form>
          <form method="post" action="{{prefix}}/admin/user/limits" id="limits">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <h3>Overrides (empty: the plan's; a number or a size such as 5GiB, or unlimited)</h3>
            <div class="fields">{{#overrideFields}}<label>{{title}} <input name="{{key}}" value="{{value}}" placeholder="plan: {{planValue}}"></label>{{/overrideFields}}</div>
            <h3>Access policy (globs over upstream/repository, one a line; empty: the default)</h3>
            <div class="fields">
            <label>Allow <textarea name="allow" rows="3" placeholder="default: {{defaultAllow}}">{{allowText}}</textarea></label>
            <label>Deny (wins) <textarea name="deny" rows="3" placeholder="default: {{defaultDeny}}">{{denyText}}</textarea></label>
            </div>
            <button type="submit">Save limits and policy</button>
          </form>
        </section>
        <section class="card" id="account">
          <h2>Account</h2>
          <form method="post" action="{{prefix}}/admin/user/expires" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <label>Last day (UTC; empty: no end) <input name="expires" type="date" value="{{expires}}"></label>
            <button type="submit">Set end</button>
          </form>
          <div class="actions">
          <form method="post" action="{{prefix}}/admin/user/role">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <input type="hidden" name="role" value="{{otherRole}}"><button type="submit">{{roleAction}}</button>
          </form>
          <form method="post" action="{{prefix}}/admin/user/{{disableAction}}">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <button type="submit" class="{{#disabled}}primary{{/disabled}}{{^disabled}}danger{{/disabled}}">{{disableLabel}}</button>
          </form>
          <form method="post" action="{{prefix}}/admin/user/password" data-confirm="Reset {{name}}'s password? Their docker logins and console sessions end.">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <button type="submit">Reset password</button>
          </form>
          <form method="post" action="{{prefix}}/admin/user/revoke-tokens" data-confirm="Revoke all {{tokenCount}} token(s) and stored logins of {{name}}?">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <button type="submit" class="danger">Revoke all tokens ({{tokenCount}})</button>
          </form>
          <form method="post" action="{{prefix}}/admin/user/delete" data-confirm="Delete {{name}}? With the account go: {{tokenCount}} token(s), {{loginCount}} upstream login(s), their plan and policy, their usage history, and content fetched with their own credentials.">
            <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
            <button type="submit" class="danger">Delete user</button>
          </form>
          </div>
        </section>
        <section class="card"><h2>Pulls per day</h2>{{{pullsChart}}}</section>
        <section class="card"><h2>Bytes per day</h2>{{{bytesChart}}}</section>
        """

    static let adminAudit = """
        <h1>Audit log</h1>
        <p class="muted">Every change made in the console or with <code>tollgate</code>, newest first: the last {{days}} days,
        at most {{limit}}. Also <code>tollgate audit --since 7d [--json]</code>.</p>
        {{^entries}}<p class="muted">Nothing yet.</p>{{/entries}}
        {{#hasEntries}}
        <table class="list" id="audit">
          <thead><tr><th>When (UTC)</th><th>Who</th><th>From</th><th>What</th><th>User</th><th>Detail</th></tr></thead>
          <tbody>{{#entries}}<tr><td>{{at}}</td><td>{{actor}}</td><td>{{address}}</td><td>{{action}}</td><td>{{target}}</td><td>{{detail}}</td></tr>{{/entries}}</tbody>
        </table>
        {{/hasEntries}}
        """

    static let adminCache = """
        <h1>Cache</h1>
        <p class="muted">What this server's disk holds (in a cluster: this node's share). Also <code>tollgate cache stats</code>.</p>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        <section class="meters">
          <div class="meter" id="cache-size"><h2>Size</h2><p class="figure">{{size}} of {{max}}</p>
            {{#bounded}}<div class="bar" role="img" aria-label="{{percent}} percent used"><span class="fill w{{percent}}"></span></div>{{/bounded}}
            <p class="muted">{{blobs}} blobs</p></div>
          <div class="meter" id="cache-hits"><h2>Served from the cache, 30 days</h2><p class="figure">{{hitRatio}}</p>
            <p class="muted">{{hit}} of {{sent}} sent</p></div>
          <div class="meter{{#damaged}} reached{{/damaged}}" id="cache-damaged"><h2>Damaged blobs</h2><p class="figure">{{quarantined}}</p>
            <p class="muted">found by reads or <code>tollgate cache verify</code>, moved aside</p></div>
        </section>
        <section class="card"><h2>By upstream</h2>
          <table class="list" id="cache-upstreams"><thead><tr><th>Upstream</th><th>Blobs</th><th>Size</th><th></th></tr></thead>
          <tbody>{{#upstreams}}<tr><td>{{name}}</td><td>{{blobs}}</td><td>{{bytes}}</td>
            <td><form method="post" action="{{prefix}}/admin/cache/evict" data-confirm="Evict everything cached from {{name}} ({{bytes}}), for every user? The next pulls fetch it again.">
              <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="scope" value="{{name}}">
              <button type="submit" class="danger">Evict all</button></form></td></tr>{{/upstreams}}</tbody></table></section>
        <section class="card"><h2>Largest repositories</h2>
          <table class="list" id="cache-repositories"><thead><tr><th>Repository</th><th>Blobs</th><th>Size</th></tr></thead>
          <tbody>{{#repositories}}<tr><td>{{name}}</td><td>{{blobs}}</td><td>{{bytes}}</td></tr>{{/repositories}}</tbody></table></section>
        <section class="card"><h2>Cached repositories ({{repoCount}})</h2>
          {{^repoCount}}<p class="muted">Nothing cached yet.</p>{{/repoCount}}
          <ul id="cache-repo-list">{{#repoList}}<li><a href="{{prefix}}/admin/cache/repository?upstream={{upstreamURL}}&amp;name={{repositoryURL}}">{{upstream}}/{{repository}}</a></li>{{/repoList}}</ul>
          {{#repoMore}}<p class="muted">The first {{shown}} are listed.</p>{{/repoMore}}</section>
        """

    static let adminRepository = """
        <p><a href="{{prefix}}/admin/cache">← Cache</a></p>
        <h1>{{upstream}}/{{repository}}</h1>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{#error}}<p class="alert" role="alert">{{error}}</p>{{/error}}
        {{^hasTags}}<p class="muted">No cached tags (content may be cached by digest only).</p>{{/hasTags}}
        {{#hasTags}}
        <table class="list" id="cache-tags">
          <thead><tr><th>Tag</th><th>Digest</th><th>Manifest</th><th>Fetched (UTC)</th><th>For</th><th>Last pulled (UTC)</th><th>Users</th><th></th></tr></thead>
          <tbody>{{#tags}}<tr><td>{{tag}}</td><td><code title="{{digest}}">{{shortDigest}}</code></td><td>{{size}}<br><span class="muted small">{{mediaType}}</span></td><td class="when">{{fetched}}</td><td>{{audience}}</td><td class="when">{{pulled}}</td><td>{{users}}</td>
            <td><form method="post" action="{{prefix}}/admin/cache/evict" data-confirm="Evict {{upstream}}/{{repository}}:{{tag}} and the content only it uses?">
              <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="scope" value="{{upstream}}/{{repository}}:{{tag}}">
              <button type="submit" class="danger">Evict</button></form></td></tr>{{/tags}}</tbody>
        </table>
        {{/hasTags}}
        <form method="post" action="{{prefix}}/admin/cache/evict" id="evict-repository" class="actions" data-confirm="Evict {{upstream}}/{{repository}} (every tag, for every user)? The next pulls fetch it again.">
          <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="scope" value="{{upstream}}/{{repository}}">
          <button type="submit" class="danger">Evict this repository</button>
        </form>
        """

    static let adminUpstreams = """
        <h1>Upstreams</h1>
        <p class="muted">How each upstream answered this server over the last hour (since its start, if later). Failures:
        no answer, a timeout, a broken exchange, a 429 or a 5xx.</p>
        <table class="list" id="upstreams">
          <thead><tr><th>Upstream</th><th>Requests</th><th>Errors</th><th>Latency (mean / max)</th><th>Last success</th><th>Last failure</th><th>Rate limit left</th></tr></thead>
          <tbody>{{#upstreams}}<tr><td><strong>{{name}}</strong><br><span class="muted">{{url}}</span></td><td>{{requests}}</td>
            <td class="{{#bad}}refused{{/bad}}">{{errors}}</td><td>{{latency}}</td><td>{{success}}</td><td>{{failure}}</td><td>{{ratelimit}}</td></tr>{{/upstreams}}</tbody>
        </table>
        """

    static let message = """
        <section class="card narrow">
          <h1>{{title}}</h1>
          <p>{{text}}</p>
          <p><a href="{{prefix}}/">Back</a></p>
        </section>
        """
}
