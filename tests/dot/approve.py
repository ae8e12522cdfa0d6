#!/usr/bin/env python3
"""A scripted browser for DOT's device pages: log in, enter the user code, accept or deny.

It goes through the same HTML forms a person would (cookies, CSRF tokens, Referer), so a test
proves that the provider's own approval path works, not a back door into its database.

  approve.py ISSUER USER_CODE [--deny] [--user alice] [--password pw]
  approve.py --browse --log FILE AUTHORIZATION_URL

With --browse it is the browser of the code flow (issue 20), started by `tok login` through
$BROWSER: log in, authorize, and follow the redirect back to tok's loopback listener; each step
is appended to FILE as a JSON line (tok hides a browser's output).

TLS trusts only the PEM in CA_FILE. Prints `approved` or `denied` and exits 0; exits 1 with the
reason (and the page that went wrong) on stderr otherwise. Standard library only.
"""

import argparse
import html
import http.cookiejar
import os
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request


def fail(msg, page=""):
    print(f"approve.py: {msg}", file=sys.stderr)
    if page:
        print(page[:4000], file=sys.stderr)
    sys.exit(1)


def normalize(code):
    # DOT compares the stored code exactly: 8 characters of 0-9A-V, no separator. A client may
    # show it grouped (ABCD-EFGH) or a person may type it in lower case.
    return re.sub(r"[\s-]", "", code).upper()


class Browser:
    def __init__(self, ca_file):
        ctx = ssl.create_default_context(cafile=ca_file)
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=ctx),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

    def open(self, url, form=None, referer=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(url, data=data, headers={"Accept": "text/html"})
        if referer:
            # Django's CSRF check over HTTPS demands a same-origin Referer, as browsers send.
            req.add_header("Referer", referer)
        try:
            with self.opener.open(req, timeout=10) as resp:
                return resp.geturl(), resp.read().decode()
        except urllib.error.HTTPError as e:
            fail(f"{e.code} from {url}", e.read().decode(errors="replace"))


def csrf_token(page):
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if not m:
        fail("no CSRF token on the page", page)
    return html.unescape(m.group(1))


def hidden_fields(page, form_id):
    m = re.search(rf'<form id="{form_id}"[^>]*>(.*?)</form>', page, re.S)
    if not m:
        fail(f"no form {form_id} on the page", page)
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", m.group(1)):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return fields


def browse(argv):
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("--browse", action="store_true")
    ap.add_argument("--log", required=True)
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="pw")
    ap.add_argument("url")
    args = ap.parse_args(argv)

    def note(**entry):
        with open(args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    note(step="start")
    b = Browser(os.environ.get("CA_FILE"))
    url, page = b.open(args.url)
    if "/accounts/login/" in url:
        nxt = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["next"][0]
        url, page = b.open(
            url,
            {
                "csrfmiddlewaretoken": csrf_token(page),
                "username": args.user,
                "password": args.password,
                "next": nxt,
            },
            referer=url,
        )
    form = hidden_fields(page, "authorizationForm")
    form["allow"] = "Authorize"
    # The answer redirects to tok's http://127.0.0.1:PORT/callback, which urllib follows.
    url, page = b.open(url, form, referer=url)
    title = re.search(r"<title>([^<]*)</title>", page)
    note(step="callback", url=urllib.parse.urlparse(url).path, title=title and title.group(1), page=page)
    note(step="done")


def main():
    if "--browse" in sys.argv[1:]:
        return browse(sys.argv[1:])
    ap = argparse.ArgumentParser()
    ap.add_argument("issuer")
    ap.add_argument("user_code")
    ap.add_argument("--deny", action="store_true")
    ap.add_argument("--user", default="alice")
    ap.add_argument("--password", default="pw")
    ap.add_argument("--ca-file", default=None)
    args = ap.parse_args()

    b = Browser(args.ca_file or os.environ.get("CA_FILE"))
    code = normalize(args.user_code)
    device_url = f"{args.issuer}/device/"

    # Not logged in: DOT's device page sends us to the login page (urllib follows redirects).
    url, page = b.open(device_url)
    if "/accounts/login/" in url:
        url, page = b.open(
            url,
            {
                "csrfmiddlewaretoken": csrf_token(page),
                "username": args.user,
                "password": args.password,
                "next": urllib.parse.urlparse(device_url).path,
            },
            referer=url,
        )
        if "/accounts/login/" in url:
            fail(f"login as {args.user} failed", page)

    url, page = b.open(
        device_url,
        {"csrfmiddlewaretoken": csrf_token(page), "user_code": code},
        referer=device_url,
    )
    if "/device-confirm/" not in url:
        fail(f"the user code {code} was not accepted", page)

    action = "deny" if args.deny else "accept"
    url, page = b.open(
        url, {"csrfmiddlewaretoken": csrf_token(page), "action": action}, referer=url
    )
    if "/device-grant-status/" not in url:
        fail(f"{action} was not taken", page)
    print("denied" if args.deny else "approved")


if __name__ == "__main__":
    main()
