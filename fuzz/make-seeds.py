#!/usr/bin/env python3
"""Writes the seed corpus of the `http_request` fuzz target to seeds/http_request/.

One raw HTTP/1.1 request (or a few pipelined ones) per file, named after the
row of the vendor document (S1-S11) or the project decision it exercises. The
harness replaces the placeholders (see README.md) before sending. Every
password placeholder is 14 bytes long, like the password it stands for, so
the Content-Length written here stays right after substitution.

Run from anywhere: python3 fuzz/make-seeds.py (it rewrites the folder).
"""

import os
import shutil

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "http_request")
PATH = "/change_user_password"
OLD, NEW, PRV = "@OLD_PASSWORD@", "@NEW_PASSWORD@", "@PRV_PASSWORD@"
JSON = "application/json"


def body(old, new):
    return '{"old_password":"%s","new_password":"%s"}' % (old, new)


def request(method=b"POST", path=PATH, headers=(), payload=b"", length=True, version=b"HTTP/1.1"):
    if isinstance(payload, str):
        payload = payload.encode()
    if isinstance(path, str):
        path = path.encode()
    lines = [method + b" " + path + b" " + version, b"Host: sample.portal.tencentciam.com"]
    for name, value in headers:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    if length and (payload or method == b"POST"):
        lines.append(b"Content-Length: " + str(len(payload)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


def change(token="@TOKEN@", old=OLD, new=NEW, ctype=JSON, scheme="Bearer", extra=(), payload=None):
    headers = []
    if ctype is not None:
        headers.append(("Content-Type", ctype))
    if token is not None:
        headers.append(("Authorization", f"{scheme} {token}" if scheme else token))
    headers.extend(extra)
    return request(headers=headers, payload=body(old, new) if payload is None else payload)


def chunked(token, chunks):
    head = request(
        headers=[("Content-Type", JSON), ("Authorization", f"Bearer {token}"), ("Transfer-Encoding", "chunked")],
        length=False,
    )
    out = head
    for c in chunks:
        out += b"%x\r\n" % len(c) + c + b"\r\n"
    return out + b"0\r\n\r\n"


SEEDS = {
    # The vendor document's rows.
    "s01-success": change(),
    "s01-success-es256-string-scope": change(token="@ES256@"),
    "s02-wrong-old-password": change(old="Wrong-Passw0rd"),
    "s03-new-equals-old": change(new=OLD),
    "s04-new-equals-previous": change(new=PRV),
    "s05-policy-too-short": change(payload=body(OLD, "Sh0rt")),
    "s05-policy-no-digit": change(payload=body(OLD, "Alice-Password-New")),
    "s05-policy-control-char": change(payload=body(OLD, "Alice-N3w\\u0007Passw0rd")),
    "s05-policy-too-long": change(payload=body(OLD, "Aa1" + "x" * 70)),
    "s06-user-not-found": change(token="@NOUSER@"),
    "s07-user-frozen": change(token="@FROZEN@"),
    "s08-user-locked": change(token="@LOCKED@"),
    "s09-no-authorization": change(token=None),
    "s10-garbage-token": change(token="not.a.jwt"),
    "s10-expired-token": change(token="@EXPIRED@"),
    "s10-not-b64token": change(token="@TOKEN@ extra"),
    "s10-alg-none": change(token="eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSJ9."),
    "s11-no-openid-scope": change(token="@NOSCOPE@"),
    # Decided: bodies.
    "body-empty": change(payload=""),
    "body-unclosed-brace": change(payload="{"),
    "body-array": change(payload="[]"),
    "body-null": change(payload="null"),
    "body-missing-old": change(payload='{"new_password":"%s"}' % NEW),
    "body-missing-new": change(payload='{"old_password":"%s"}' % OLD),
    "body-null-member": change(payload='{"old_password":null,"new_password":"%s"}' % NEW),
    "body-array-member": change(payload='{"old_password":"%s","new_password":["x"]}' % OLD),
    "body-number-member": change(payload='{"old_password":1,"new_password":"%s"}' % NEW),
    "body-invalid-utf8": change(payload=b'{"old_password":"\xff","new_password":"x"}'),
    "body-deep-nesting": change(payload="[" * 2000 + "]" * 2000),
    "body-extra-members-and-escapes": change(
        payload='{"x":{"y":[1,2.5e3,true]},"old_password":"%s","new_password":"%s","\\u006eew":"\\ud83d\\ude00"}'
        % (OLD, NEW)
    ),
    "body-duplicate-members": change(payload='{"old_password":"x","old_password":"%s","new_password":"%s"}' % (OLD, NEW)),
    "body-nfd-new-password": change(payload=body(OLD, "Ne\u0301w-Passw0rd-1")),
    "body-at-limit": change(payload=body(OLD, NEW) + " " * (4096 - len(body(OLD, NEW)))),
    # Decided: Content-Type.
    "ctype-missing": change(ctype=None),
    "ctype-text-plain": change(ctype="text/plain"),
    "ctype-form": change(ctype="application/x-www-form-urlencoded"),
    "ctype-latin1": change(ctype="application/json; charset=latin1"),
    "ctype-case-and-params": change(ctype='Application/JSON; charset="utf-8"; q=1'),
    # Decided: sizes.
    "size-body-over-limit": change(payload=body("a" * 5000, "x")),
    "size-declared-over-limit": request(
        headers=[("Content-Type", JSON), ("Authorization", "Bearer @TOKEN@"), ("Content-Length", "99999")],
        payload=b"{}",
        length=False,
    ),
    "size-chunked-over-limit": chunked("@TOKEN@", [b"a" * 3000, b"a" * 3000]),
    "size-chunked-ok": chunked("@TOKEN@", [b'{"old_password":"' + OLD.encode(), b'","new_password":"' + NEW.encode() + b'"}']),
    "size-head-over-16k": request(method=b"GET", path="/", headers=[("X-Big", "b" * 17000)]),
    "size-body-short-of-length": request(
        headers=[("Content-Type", JSON), ("Authorization", "Bearer @TOKEN@"), ("Content-Length", "100")],
        payload=b'{"old',
        length=False,
    ),
    # Decided: Authorization variants.
    "auth-lowercase-bearer": change(scheme="bearer"),
    "auth-uppercase-bearer-spaces": change(scheme="BEARER  "),
    "auth-basic": change(token="YWxpY2U6cGFzcw==", scheme="Basic"),
    "auth-bearer-empty": change(token="", scheme="Bearer"),
    "auth-two-headers": change(extra=[("Authorization", "Bearer @TOKEN@")]),
    "auth-token-in-query": request(
        path=PATH + "?access_token=@TOKEN@", headers=[("Content-Type", JSON)], payload=body(OLD, NEW)
    ),
    "auth-token-in-form": request(
        headers=[("Content-Type", "application/x-www-form-urlencoded")], payload="access_token=@TOKEN@"
    ),
    "auth-latin1-header": change().replace(b"Bearer @TOKEN@", b"Bearer \xe9t\xe9", 1),
    # Decided: methods, paths, documents.
    "method-get": request(method=b"GET", headers=[("Authorization", "Bearer @TOKEN@")]),
    "method-put": change(extra=[]).replace(b"POST ", b"PUT ", 1),
    "method-head": request(method=b"HEAD"),
    "path-unknown": request(path="/nope", headers=[("Content-Type", JSON)], payload="{}"),
    "path-trailing-slash": change().replace(PATH.encode() + b" ", PATH.encode() + b"/ ", 1),
    "path-absolute-form": change().replace(PATH.encode(), b"http://sample.portal.tencentciam.com" + PATH.encode(), 1),
    "jwks-get": request(method=b"GET", path="/oauth2/jwks"),
    "jwks-head": request(method=b"HEAD", path="/oauth2/jwks"),
    "jwks-post": request(path="/oauth2/jwks", payload=""),
    "discovery-get": request(method=b"GET", path="/.well-known/openid-configuration"),
    # Decided: CORS.
    "cors-preflight-allowed": request(
        method=b"OPTIONS",
        headers=[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type"),
        ],
    ),
    "cors-preflight-other-origin": request(
        method=b"OPTIONS", headers=[("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")]
    ),
    "cors-post-allowed-origin": change(extra=[("Origin", "http://localhost:3000")]),
    # HTTP framing.
    "http10": change().replace(b"HTTP/1.1", b"HTTP/1.0", 1),
    "http-expect-continue": change(extra=[("Expect", "100-continue")]),
    "http-connection-close": change(extra=[("Connection", "close")]),
    "http-pipelined-three": change(old="Wrong-Passw0rd") + change(new=OLD) + request(method=b"GET", path="/oauth2/jwks"),
    "http-pipelined-close-then-more": change(token=None, extra=[("Connection", "close")]) + change(),
    "http-garbage-request-line": b"\x00\x01GARBAGE / HTTP/9.9\r\n\r\n",
    "http-bare-lf": change().replace(b"\r\n", b"\n"),
    "http-te-and-cl": chunked("@TOKEN@", [b"{}"]).replace(b"Transfer-Encoding: chunked", b"Transfer-Encoding: chunked\r\nContent-Length: 2", 1),
    "http-obs-fold": change(extra=[("X-Folded", "a\r\n b")]),
}


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")


if __name__ == "__main__":
    main()
