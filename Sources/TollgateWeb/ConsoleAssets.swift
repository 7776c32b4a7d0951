/// The console's one stylesheet and one script, served from `<prefix>/static/` (the page's
/// Content-Security-Policy allows nothing else: no inline style or script, no other origin).
enum ConsoleAssets {
    static let css: String = """
        :root { --fg: #1d2330; --muted: #5b6474; --line: #d9dde5; --accent: #1f6feb; --bad: #c62828; --bg: #f6f7f9; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
          color: var(--fg); background: var(--bg); }
        header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: .6rem 1.2rem;
          background: #fff; border-bottom: 1px solid var(--line); }
        .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
        nav { display: flex; flex-wrap: wrap; gap: 1rem; flex: 1; }
        nav a { color: var(--muted); text-decoration: none; }
        nav a[aria-current] { color: var(--fg); font-weight: 600; }
        form.logout { display: flex; align-items: center; gap: .5rem; margin: 0; }
        main { max-width: 60rem; margin: 0 auto; padding: 1.2rem; }
        h1 { font-size: 1.5rem; margin: .5rem 0 1rem; }
        h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
        h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
        .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem 1.2rem; margin: 0 0 1rem; }
        .narrow { max-width: 26rem; margin: 2rem auto; }
        .muted { color: var(--muted); }
        .accepted { color: #1a7f37; }
        .refused { color: var(--bad); font-weight: 600; }
        .notice { border-left: 4px solid #2da44e; background: #e9f7ee; padding: .5rem .8rem; }
        .alert { border-left: 4px solid var(--bad); background: #fdecea; padding: .5rem .8rem; }
        label { display: block; margin: .5rem 0; }
        .fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(14rem, 1fr)); gap: 0 1rem; }
        input, select, textarea { display: block; width: 100%; padding: .45rem .5rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
        form.inline { display: flex; flex-wrap: wrap; gap: .6rem; align-items: flex-end; }
        form.inline label { flex: 1 1 12rem; margin: 0; }
        button { padding: .45rem .9rem; border: 0; border-radius: 6px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
        button.danger { background: var(--bad); }
        .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .9rem; }
        .actions form { margin: 0; }
        .logout button { background: #eef0f4; color: var(--fg); }
        .meters { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem; margin-bottom: 1rem; }
        .meter { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; }
        .meter.reached { border-color: var(--bad); }
        .figure { font-size: 1.2rem; margin: .2rem 0 .5rem; }
        .bar { height: .6rem; background: #eef0f4; border-radius: 4px; overflow: hidden; }
        .fill { display: block; height: 100%; background: var(--accent); }
        .reached .fill { background: var(--bad); }
        svg.chart { width: 100%; height: auto; display: block; }
        svg.chart .axis { stroke: var(--line); }
        svg.chart .tick, svg.chart .legend { font-size: 11px; fill: var(--muted); }
        table.list { width: 100%; border-collapse: collapse; }
        table.list th, table.list td { text-align: left; padding: .4rem .3rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
        table.list form { margin: 0; }
        pre { margin: 0; padding: .6rem .7rem; background: #0f1420; color: #e8ecf3; border-radius: 6px; overflow-x: auto;
          white-space: pre-wrap; word-break: break-all; font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
        .copyable { position: relative; }
        .copyable pre { padding-right: 4.2rem; }
        .copyable button.copy { position: absolute; top: .35rem; right: .35rem; padding: .2rem .6rem; font-size: .8rem; }
        .when { white-space: nowrap; }
        .small { font-size: .8rem; overflow-wrap: anywhere; }
        code { font: 13px ui-monospace, "DejaVu Sans Mono", monospace; background: #eef0f4; padding: .05rem .3rem; border-radius: 4px; }
        @media (max-width: 600px) {
          main { padding: .8rem; }
          header.top { padding: .5rem .8rem; }
          nav { order: 3; flex-basis: 100%; gap: .4rem .9rem; }
          form.logout { margin-left: auto; }
          table.list thead { display: none; }
          table.list, table.list tbody { display: block; }
          table.list td { display: block; border: 0; padding: .15rem 0; overflow-wrap: anywhere; }
          .when { white-space: normal; }
          table.list tr { display: block; border-bottom: 1px solid var(--line); padding: .5rem 0; }
        }
        """ + (0...100).map { ".w\($0) { width: \($0)%; }" }.joined(separator: "\n") + "\n"

    static let favicon = """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1f6feb"/>\
        <path d="M3 5h10v2H9v6H7V7H3z" fill="#fff"/></svg>
        """

    /// Copy buttons, confirmations, and reset times in the viewer's time zone; every page works
    /// without it.
    static let js = """
        "use strict";
        document.addEventListener("click", function (e) {
          var b = e.target.closest("button.copy");
          if (!b) return;
          var el = document.getElementById(b.getAttribute("data-copy"));
          if (!el || !navigator.clipboard) return;
          navigator.clipboard.writeText(el.textContent).then(function () {
            b.textContent = "Copied";
            setTimeout(function () { b.textContent = "Copy"; }, 1500);
          });
        });
        document.addEventListener("submit", function (e) {
          var m = e.target.getAttribute("data-confirm");
          if (m && !window.confirm(m)) e.preventDefault();
        });
        document.addEventListener("DOMContentLoaded", function () {
          document.querySelectorAll("time[datetime]").forEach(function (t) {
            var d = new Date(t.getAttribute("datetime"));
            if (!isNaN(d)) t.textContent = d.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"});
          });
        });
        """
}
