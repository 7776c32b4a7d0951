#!/usr/bin/env python3
"""fake_upstream.py — a deliberately dishonest registry for Tollgate's digest-mismatch checks.

Usage:
  fake_upstream.py --port-file F --log F [--port P]   serve on 127.0.0.1 (port 0 = pick one)
  fake_upstream.py --digest KIND                      print the digest the tests request for KIND

Routes (the repository name picks the behaviour; its last component is KIND):
  GET/HEAD /v2/                          200 {}
  GET/HEAD /v2/.../small/blobs/<d>       200, 1000 bytes that do not hash to <d>
  GET/HEAD /v2/.../big/blobs/<d>         200, 8 MiB that do not hash to <d> (streamed in chunks)
  GET/HEAD /v2/.../trunc/blobs/<d>       Content-Length of TRUNC (3 MiB, hashes to <d>), sends half, closes
  GET/HEAD /v2/.../good/blobs/<d>        GOOD bytes (control: sha256(GOOD) is `--digest good`)
  GET/HEAD /v2/.../slow/blobs/<d>        SLOW bytes (4 MiB, honest) in 64 KiB chunks over ~3.2 s
  GET/HEAD /v2/.../e500/blobs/<d>        500 {"errors":[{"code":"UNKNOWN"}]}
  GET/HEAD /v2/.../e429/blobs/<d>        429 TOOMANYREQUESTS, Retry-After: 7
  GET/HEAD /v2/.../redirect/blobs/<d>    401 Basic without Authorization; with it, 307 to
                                         http://localhost:<port>/cdn/<d> (another host name), which
                                         serves REDIR bytes (sha256 = `--digest redirect`) and logs
                                         "CDN with-authorization" if credentials were forwarded;
                                         also logs "REDIRECT user=<Basic user name>" (or
                                         "REDIRECT user=-") and "CDN headers=<names, sorted>"
  GET/HEAD /v2/.../flip/manifests/<ref>  an honest manifest (right digest) until GET /_fail, then 503
  GET /_fail                             switch flip to failing
  (checks_security_bounds.sh)
  GET/HEAD /v2/.../endless/blobs/<d>     chunked (no Content-Length), 64 KiB chunks as fast as read, ~60 s
  GET/HEAD /v2/.../endlessslow/blobs/<d> chunked, 64 KiB every 20 ms (~3 MiB/s), ~60 s
  GET/HEAD /v2/.../slowlie/blobs/<d>     right Content-Length (2 MiB), wrong bytes, over ~3 s
  GET/HEAD /v2/.../chunkgood/blobs/<d>   GOOD bytes chunked, no Content-Length (`--digest good`)
  GET/HEAD /v2/.../bigman/manifests/<r>  a chunked "manifest" of 200 × 64 KiB spaces
  GET/HEAD /v2/.../<any>/manifests/<dg>  by digest: a v2s2 manifest whose sha256 != <dg>,
                                         Docker-Content-Digest: <dg> (a lie)
  GET/HEAD /v2/.../<any>/manifests/<tag> Docker-Content-Digest header that does not match the body
Security checks (checks_security_upstream.sh), redirect targets on http://localhost:<port>:
  GET/HEAD /v2/.../cdn401/{blobs,manifests,tags}/...  401 Basic without Authorization; with it,
                                         307 to /cdn401/... (another host name), which answers
                                         401 Basic and logs "CDN401 with-authorization" or
                                         "CDN401 no-authorization"
  GET/HEAD /v2/.../cdnbearer/{blobs,manifests}/...    307 to /cdnbearer/..., which answers 401
                                         Bearer realm=http://localhost:<port>/steal (logs
                                         "CDNBEARER with-/no-authorization")
  GET /steal                             a token, logging "STEAL user=<Basic user name>"
  GET/HEAD /v2/.../yesman/blobs/<d>      HEAD 200 without Content-Length for any digest; GET 404
  GET/HEAD /v2/.../wronglen/blobs/<d>    HEAD 200 with Content-Length 1 for any digest; GET 404
  GET/HEAD /v2/.../nolen/blobs/<d>       HEAD 200 without Content-Length; GET the GOOD bytes
  --bearer: every /v2 request needs "Authorization: Bearer fake-tok" (else 401 Bearer
  realm=http://127.0.0.1:<port>/token); GET /token logs "TOKEN user=<Basic user> scope=<scope>" and
  answers {"token": "fake-tok"}, except for a scope naming .../tokenredir: a 307 to
  http://localhost:<port>/steal
Referrers checks (checks_referrers.sh), repository e2e/refs (every request there needs some Basic
credentials, else 401 Basic; the fixture is described under "referrers-api fixture" below):
  GET/HEAD /v2/e2e/refs/manifests/<ref>  the subject image (tag latest), an image without referrers
                                         (tag unsigned), the referrer manifests by digest, the tags
                                         sha256-<hex>.sig/.sbom/.att of the subject
  GET/HEAD /v2/e2e/refs/blobs/<d>        their blobs
  GET/HEAD /v2/<any>/referrers/<d>       OCI 1.1 referrers API: an image index of the subject's 5
                                         referrers (empty for any other digest or repository);
                                         ?artifactType=T filters (+ OCI-Filters-Applied:
                                         artifactType); ?n=N pages with an opaque next_token, Link
                                         rel="next" absolute (this host) on the first page, relative
                                         after; logs "REFERRERS METHOD repo=<r> user=<Basic user>
                                         query=<raw query>"
  GET/HEAD /v2/e2e/chunkrefs/referrers/<d>  an empty index sent chunked (no Content-Length)
  GET/HEAD /v2/e2e/bigrefs/referrers/<d>  200 x 64 KiB of spaces, chunked, as an index
  GET/HEAD /v2/e2e/htmlrefs/referrers/<d> a 200 text/html page with a script
  GET/HEAD /v2/e2e/badrefs/referrers/<d>  "not json at all" labelled as an index
  GET /_refs/fail?status=S               referrers requests answer S (default 503; 429 + Retry-After)
  GET /_refs/heal                        back to normal
  GET /_refs/info                        the fixture as JSON: subject, unsigned, referrers, tags, types
Every request is logged as one line "METHOD PATH" to --log.
"""
import argparse
import base64
import binascii
import hashlib
import http.server
import json
import os
import re
import socket
import time
import sys
import urllib.parse

GOOD = hashlib.shake_256(b"tollgate-e2e-good").digest(3 * 1024 * 1024)
TRUNC = hashlib.shake_256(b"tollgate-e2e-trunc").digest(3 * 1024 * 1024)
REDIR = hashlib.shake_256(b"tollgate-e2e-redirect").digest(100 * 1024)
SLOW = hashlib.shake_256(b"tollgate-e2e-slow").digest(4 * 1024 * 1024)
EVIL_SMALL = hashlib.shake_256(b"tollgate-e2e-evil-small").digest(1000)
EVIL_BIG_LEN = 8 * 1024 * 1024
MANIFEST = json.dumps({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
               "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest()},
    "layers": [],
}, indent=3).encode()
V2S2 = "application/vnd.docker.distribution.manifest.v2+json"


def digest(kind):
    """The digest a test asks for; never the sha256 of what is served (except 'good' and 'trunc')."""
    if kind == "good":
        return "sha256:" + hashlib.sha256(GOOD).hexdigest()
    if kind == "trunc":
        return "sha256:" + hashlib.sha256(TRUNC).hexdigest()
    if kind == "redirect":
        return "sha256:" + hashlib.sha256(REDIR).hexdigest()
    if kind == "manifest-honest":
        return "sha256:" + hashlib.sha256(MANIFEST).hexdigest()
    if kind == "slow":
        return "sha256:" + hashlib.sha256(SLOW).hexdigest()
    return "sha256:" + hashlib.sha256(b"tollgate-e2e-expected-" + kind.encode()).hexdigest()


def basic_user(header):
    """The user name of a Basic Authorization header ('-' if none or not Basic); never the password."""
    if not header or not header.lower().startswith("basic "):
        return "-" if not header else "<" + header.split(" ", 1)[0].lower() + ">"
    try:
        return base64.b64decode(header[6:].strip()).decode("utf-8", "replace").split(":", 1)[0] or "<empty>"
    except (binascii.Error, ValueError):
        return "<bad-basic>"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_file = None
    failing = False
    bearer = False

    def log_message(self, fmt, *args):  # quiet on stderr
        pass

    def note(self):
        with open(self.log_file, "a") as f:
            f.write(f"{self.command} {self.path}\n")

    def send(self, status, body, ctype="application/octet-stream", extra=None, length=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()

    def send_chunked(self, ctype, head, chunks):
        """200 with Transfer-Encoding: chunked (no Content-Length); stops when the client goes away."""
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if head:
            return
        try:
            for c in chunks:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            with open(self.log_file, "a") as f:
                f.write(f"CHUNKED ended early {self.path}\n")
            self.close_connection = True

    def do_HEAD(self):
        self.handle_any(head=True)

    def do_GET(self):
        self.handle_any(head=False)

    def handle_any(self, head):
        self.note()
        path = self.path.split("?", 1)[0]
        if self.security_upstream(path, head):
            return
        if self.referrers_upstream(path, head):
            return
        if path in ("/v2", "/v2/"):
            self.send(200, b"{}", "application/json")
            if not head:
                self.wfile.write(b"{}")
            return
        if path == "/_fail":
            Handler.failing = True
            self.send(200, b"ok\n", "text/plain")
            self.wfile.write(b"ok\n")
            return
        if path.startswith("/cdn/"):
            auth = "with-authorization" if self.headers.get("Authorization") else "no-authorization"
            names = ",".join(sorted({k.lower() for k in self.headers.keys()}))
            with open(self.log_file, "a") as f:
                f.write(f"CDN {auth}\n")
                f.write(f"CDN headers={names}\n")
            self.send(200, REDIR)
            if not head:
                self.wfile.write(REDIR)
            return
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[-2] not in ("blobs", "manifests"):
            body = b'{"errors":[{"code":"NAME_UNKNOWN","message":"fake"}]}'
            self.send(404, body, "application/json")
            if not head:
                self.wfile.write(body)
            return
        kind, what, ref = parts[-3], parts[-2], parts[-1]
        if what == "manifests" and kind == "flip":
            if Handler.failing:
                body = b'{"errors":[{"code":"UNAVAILABLE","message":"fake outage"}]}'
                self.send(503, body, "application/json")
                if not head:
                    self.wfile.write(body)
                return
            self.send(200, MANIFEST, V2S2, {"Docker-Content-Digest": digest("manifest-honest")})
            if not head:
                self.wfile.write(MANIFEST)
            return
        if what == "manifests" and kind == "html":
            # markup labelled as a manifest type a browser would render
            page = b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>'
            self.send(200, page, "application/xhtml+xml", {"Docker-Content-Digest": "sha256:" + hashlib.sha256(page).hexdigest()})
            if not head:
                self.wfile.write(page)
            return
        if what == "manifests" and kind == "bigman":
            self.send_chunked(V2S2, head, (b" " * 65536 for _ in range(200)))
            return
        if what == "manifests":
            lie = ref if ref.startswith("sha256:") else "sha256:" + "0" * 64
            self.send(200, MANIFEST, V2S2, {"Docker-Content-Digest": lie})
            if not head:
                self.wfile.write(MANIFEST)
            return
        extra = {"Docker-Content-Digest": ref}
        if kind in ("e500", "e429"):
            code = 500 if kind == "e500" else 429
            body = json.dumps({"errors": [{"code": "UNKNOWN" if code == 500 else "TOOMANYREQUESTS",
                                           "message": "fake upstream failure"}]}).encode()
            self.send(code, body, "application/json", {"Retry-After": "7"} if code == 429 else None)
            if not head:
                self.wfile.write(body)
            return
        if kind == "redirect":
            with open(self.log_file, "a") as f:
                f.write(f"REDIRECT user={basic_user(self.headers.get('Authorization'))}\n")
            if not self.headers.get("Authorization"):  # demand credentials, so there are some to leak
                body = b'{"errors":[{"code":"UNAUTHORIZED","message":"credentials required"}]}'
                self.send(401, body, "application/json", {"WWW-Authenticate": 'Basic realm="fake"'})
                if not head:
                    self.wfile.write(body)
                return
            loc = f"http://localhost:{self.server.server_address[1]}/cdn/{ref}"
            self.send(307, b"", extra={"Location": loc})
            return
        if kind in ("endless", "endlessslow"):
            pause = 0.02 if kind == "endlessslow" else 0
            t0 = time.time()

            def forever():
                while time.time() - t0 < 60:
                    yield b"x" * 65536
                    if pause:
                        time.sleep(pause)
            self.send_chunked("application/octet-stream", head, forever())
            return
        if kind == "chunkgood":
            self.send_chunked("application/octet-stream", head,
                              (GOOD[i:i + 65536] for i in range(0, len(GOOD), 65536)))
            return
        if kind == "slowlie":
            self.send(200, b"", extra=extra, length=2 * 1024 * 1024)
            if not head:
                lie = hashlib.shake_256(b"tollgate-e2e-slowlie").digest(2 * 1024 * 1024)
                for i in range(0, len(lie), 64 * 1024):
                    self.wfile.write(lie[i:i + 64 * 1024])
                    self.wfile.flush()
                    time.sleep(0.1)
            return
        if kind == "small":
            self.send(200, EVIL_SMALL, extra=extra)
            if not head:
                self.wfile.write(EVIL_SMALL)
        elif kind == "big":
            self.send(200, b"", extra=extra, length=EVIL_BIG_LEN)
            if not head:
                chunk = hashlib.shake_256(b"tollgate-e2e-evil-big").digest(64 * 1024)
                for _ in range(EVIL_BIG_LEN // len(chunk)):
                    self.wfile.write(chunk)
        elif kind == "trunc":
            self.send(200, TRUNC, extra=extra)
            if not head:
                self.wfile.write(TRUNC[: len(TRUNC) // 2])
                self.wfile.flush()
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        elif kind == "slow":
            self.send(200, SLOW, extra=extra)
            if not head:
                for i in range(0, len(SLOW), 64 * 1024):
                    self.wfile.write(SLOW[i:i + 64 * 1024])
                    self.wfile.flush()
                    time.sleep(0.05)
        else:  # good
            self.send(200, GOOD, extra=extra)
            if not head:
                self.wfile.write(GOOD)


    # --- checks_security_upstream.sh: redirect targets asking for credentials, token realms,
    # --- HEADs that say yes without the right length. True when the request was answered.
    def security_upstream(self, path, head):
        port = self.server.server_address[1]
        auth = self.headers.get("Authorization")

        def answer(status, body=b"", extra=None, length=None, ctype="application/json"):
            self.send(status, body, ctype, extra, length)
            if not head and body:
                self.wfile.write(body)
            return True

        def log(line):
            with open(self.log_file, "a") as f:
                f.write(line + "\n")

        if path == "/steal":
            log(f"STEAL user={basic_user(auth)}")
            return answer(200, b'{"token": "stolen-tok"}')
        if Handler.bearer and path == "/token":
            q = dict(p.split("=", 1) for p in self.path.partition("?")[2].split("&") if "=" in p)
            scope = q.get("scope", "").replace("%3A", ":").replace("%2F", "/")
            log(f"TOKEN user={basic_user(auth)} scope={scope}")
            if "/tokenredir:" in scope:
                return answer(307, extra={"Location": f"http://localhost:{port}/steal?{self.path.partition('?')[2]}"})
            return answer(200, b'{"token": "fake-tok", "expires_in": 300}')
        for target in ("cdn401", "cdnbearer"):
            if path.startswith(f"/{target}/"):
                log(f"{target.upper()} {'with-authorization' if auth else 'no-authorization'}")
                if target == "cdn401":
                    challenge = 'Basic realm="cdn"'
                else:
                    challenge = f'Bearer realm="http://localhost:{port}/steal",service="evil"'
                return answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"cdn"}]}', {"WWW-Authenticate": challenge})
        if Handler.bearer and path.startswith("/v2") and auth != "Bearer fake-tok":
            challenge = f'Bearer realm="http://127.0.0.1:{port}/token",service="fake"'
            return answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}',
                          {"WWW-Authenticate": challenge})
        parts = path.strip("/").split("/")
        if len(parts) < 5:
            return False
        kind, what, ref = parts[-3], parts[-2], parts[-1]
        if kind in ("cdn401", "cdnbearer") and what in ("blobs", "manifests", "tags"):
            if kind == "cdn401" and not auth:  # demand credentials, so there are some to leak
                return answer(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"credentials required"}]}',
                              {"WWW-Authenticate": 'Basic realm="fake"'})
            return answer(307, extra={"Location": f"http://localhost:{port}/{kind}/{what}/{ref}"})
        if what == "blobs" and kind in ("yesman", "wronglen", "nolen"):
            if head:
                self.send_response(200)
                self.send_header("Docker-Content-Digest", ref)
                if kind == "wronglen":
                    self.send_header("Content-Length", "1")
                self.end_headers()
                return True
            if kind == "nolen":
                return answer(200, GOOD, {"Docker-Content-Digest": ref}, ctype="application/octet-stream")
            return answer(404, b'{"errors":[{"code":"BLOB_UNKNOWN","message":"fake"}]}')
        return False

    # --- checks_referrers.sh (referrers-api): a registry with the OCI 1.1 referrers API.
    # --- True when the request was answered (see REFS_* below).
    def referrers_upstream(self, path, head):
        port = self.server.server_address[1]
        query = self.path.partition("?")[2]

        def answer(status, body=b"", ctype="application/json", extra=None):
            self.send(status, body, ctype, extra)
            if not head and body:
                self.wfile.write(body)
            return True

        def error(status, code, extra=None):
            return answer(status, json.dumps({"errors": [{"code": code, "message": "fake refs"}]}).encode(),
                          extra=extra)

        if path == "/_refs/info":
            return answer(200, json.dumps(REFS["info"], indent=1).encode())
        if path == "/_refs/fail":
            Handler.refs_fail = int(dict(urllib.parse.parse_qsl(query)).get("status", "503"))
            return answer(200, b"failing\n", "text/plain")
        if path == "/_refs/heal":
            Handler.refs_fail = 0
            return answer(200, b"ok\n", "text/plain")
        parts = path.strip("/").split("/")
        if len(parts) < 5 or parts[0] != "v2" or parts[-2] not in ("referrers", "manifests", "blobs"):
            return False
        repo, what, ref = "/".join(parts[1:-2]), parts[-2], parts[-1]
        if what != "referrers" and repo != REFS_REPO:
            return False
        auth = self.headers.get("Authorization")
        if not auth:  # the mirror must use its configured upstream identity
            return error(401, "UNAUTHORIZED", {"WWW-Authenticate": 'Basic realm="fake-refs"'})
        if what == "manifests":
            d = REFS["tags"].get(ref, ref)
            if d not in REFS["manifests"]:
                return error(404, "MANIFEST_UNKNOWN")
            mt, body = REFS["manifests"][d]
            return answer(200, body, mt, {"Docker-Content-Digest": d})
        if what == "blobs":
            if ref not in REFS["blobs"]:
                return error(404, "BLOB_UNKNOWN")
            return answer(200, REFS["blobs"][ref], "application/octet-stream", {"Docker-Content-Digest": ref})
        with open(self.log_file, "a") as f:
            f.write(f"REFERRERS {self.command} repo={repo} user={basic_user(auth)} query={query}\n")
        if Handler.refs_fail:
            return error(Handler.refs_fail, "TOOMANYREQUESTS" if Handler.refs_fail == 429 else "UNAVAILABLE",
                         {"Retry-After": "1"} if Handler.refs_fail == 429 else None)
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", ref):
            return error(400, "DIGEST_INVALID")
        if repo == "e2e/bigrefs":  # an index that never ends: 200 x 64 KiB of spaces, chunked
            self.send_chunked(OCI_INDEX, head, (b" " * 65536 for _ in range(200)))
            return True
        if repo == "e2e/chunkrefs":  # an honest empty index, chunked (no Content-Length)
            self.send_chunked(OCI_INDEX, head, [REFS_CHUNKED[:40], REFS_CHUNKED[40:]])
            return True
        if repo == "e2e/htmlrefs":  # markup labelled as what a browser renders
            return answer(200, b'<html><script>alert(1)</script></html>', "text/html")
        if repo == "e2e/badrefs":  # labelled as an index, but not JSON
            return answer(200, b'not json at all', OCI_INDEX)
        q = urllib.parse.parse_qsl(query, keep_blank_values=True)
        qd = dict(q)
        items = REFS["referrers"] if repo == REFS_REPO and ref == REFS["info"]["subject"] else []
        extra = {}
        at = qd.get("artifactType")
        if at is not None:
            items = [i for i in items if i["artifactType"] == at]
            extra["OCI-Filters-Applied"] = "artifactType"
        offset = 0
        if "next_token" in qd:
            try:
                offset = int(base64.b64decode(qd["next_token"]).decode().split("=", 1)[1])
            except (ValueError, IndexError, binascii.Error):
                return error(400, "PAGINATION_NUMBER_INVALID")
        n = int(qd["n"]) if qd.get("n", "").isdigit() else None
        page = items[offset:offset + n] if n else items[offset:]
        if n and offset + n < len(items):
            nq = [("n", str(n))] + ([("artifactType", at)] if at is not None else [])
            nq.append(("next_token", base64.b64encode(f"offset={offset + n}".encode()).decode()))
            target = f"/v2/{repo}/referrers/{ref}?{urllib.parse.urlencode(nq)}"
            if offset == 0:  # the first page links absolutely (upstream host), later ones relatively
                target = f"http://127.0.0.1:{port}{target}"
            extra["Link"] = f'<{target}>; rel="next"'
        body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": page}, indent=2).encode()
        return answer(200, body, OCI_INDEX, extra)


# --- referrers-api fixture: repository e2e/refs holds a subject image (tag latest), an image without
# --- referrers (tag unsigned) and five referrers of the subject: two cosign-style signatures, an
# --- SPDX SBOM, an in-toto attestation typed only by its config.mediaType (OCI 1.0 style) and an
# --- index bundling the SBOM; tags sha256-<hex>.sig/.att/.sbom point at one of each. Bytes are
# --- fixed (no timestamps), so digests are the same on every run. GET /_refs/info describes it.
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
REFS_REPO = "e2e/refs"


def _refs_fixture():
    blobs, manifests = {}, {}

    def sha(b):
        return "sha256:" + hashlib.sha256(b).hexdigest()

    def blob(mt, b, **extra):
        blobs[sha(b)] = b
        return dict(mediaType=mt, digest=sha(b), size=len(b), **extra)

    def manifest(m):
        b = json.dumps(m, indent=3).encode()
        manifests[sha(b)] = (m["mediaType"], b)
        return dict(mediaType=m["mediaType"], digest=sha(b), size=len(b))

    def image(seed):
        layer = hashlib.shake_256(b"tollgate-e2e-refs-" + seed).digest(3000)
        cfg = json.dumps({"architecture": "amd64", "os": "linux",
                          "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
        return manifest({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                         "config": blob("application/vnd.oci.image.config.v1+json", cfg),
                         "layers": [blob("application/vnd.oci.image.layer.v1.tar", layer)]})

    subject, unsigned = image(b"subject"), image(b"unsigned")
    empty = blob("application/vnd.oci.empty.v1+json", b"{}")
    created = {"org.opencontainers.image.created": "2026-01-02T03:04:05Z"}

    def artifact(artifact_type, config, layer_mt, payload, annotations=None, layer_annotations=None):
        m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST}
        if artifact_type:
            m["artifactType"] = artifact_type
        m["config"] = config
        layer = blob(layer_mt, payload)
        if layer_annotations:
            layer["annotations"] = layer_annotations
        m["layers"] = [layer]
        m["subject"] = subject
        if annotations:
            m["annotations"] = annotations
        return m

    sig_t, sbom_t = "application/vnd.dev.cosign.artifact.sig.v1+json", "application/spdx+json"
    att_t, bundle_t = "application/vnd.in-toto+json", "application/vnd.example.bundle.v1+json"
    simple = "application/vnd.dev.cosign.simplesigning.v1+json"
    arts = [
        (sig_t, artifact(sig_t, empty, simple, b'{"critical":{"type":"sig one"}}', created,
                         {"dev.cosignproject.cosign/signature": "c2lnLW9uZQ=="})),
        (sig_t, artifact(sig_t, empty, simple, b'{"critical":{"type":"sig two"}}', None,
                         {"dev.cosignproject.cosign/signature": "c2lnLXR3bw=="})),
        (sbom_t, artifact(sbom_t, empty, sbom_t, b'{"spdxVersion":"SPDX-2.3","name":"subject"}', created)),
        (att_t, artifact(None, blob(att_t, b'{"_type":"https://in-toto.io/Statement/v1"}'),
                         "application/vnd.in-toto.layer", b'{"predicateType":"https://slsa.dev/provenance/v1"}')),
    ]
    descs = []
    for t, m in arts:
        d = manifest(m)
        d["artifactType"] = t
        if "annotations" in m:
            d["annotations"] = m["annotations"]
        descs.append(d)
    bundle = {"schemaVersion": 2, "mediaType": OCI_INDEX, "artifactType": bundle_t,
              "manifests": [{k: descs[2][k] for k in ("mediaType", "digest", "size")}],
              "subject": subject, "annotations": {"org.example.bundle": "sboms"}}
    d = manifest(bundle)
    d["artifactType"] = bundle_t
    d["annotations"] = bundle["annotations"]
    descs.append(d)
    sub = subject["digest"]
    tags = {"latest": sub, "unsigned": unsigned["digest"], sub.replace(":", "-") + ".sig": descs[0]["digest"],
            sub.replace(":", "-") + ".sbom": descs[2]["digest"], sub.replace(":", "-") + ".att": descs[3]["digest"]}
    info = {"repository": REFS_REPO, "subject": sub, "unsigned": unsigned["digest"], "referrers": descs,
            "tags": tags, "types": {"sig": sig_t, "sbom": sbom_t, "att": att_t, "bundle": bundle_t}}
    return {"blobs": blobs, "manifests": manifests, "tags": tags, "referrers": descs, "info": info}


REFS = _refs_fixture()
REFS_CHUNKED = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
Handler.refs_fail = 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--digest", metavar="KIND")
    ap.add_argument("--bearer", action="store_true", help="token auth (see the security checks above)")
    a = ap.parse_args()
    if a.digest:
        print(digest(a.digest))
        return
    if not (a.port_file and a.log):
        ap.error("--port-file and --log are required to serve")
    Handler.log_file = a.log
    Handler.bearer = a.bearer
    open(a.log, "a").close()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    with open(a.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(a.port_file + ".tmp", a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
