"""Submit the packaged bot to Kaggle (the ``kaggle competitions submit`` equivalent).

    python scripts/package.py --weights runs/<name>/<run>/checkpoints/latest.pt   # first
    python scripts/submit.py                                    # submission.tar.gz, lux-ai-season-2
    python scripts/submit.py --archive other.tar.gz --message "PPO 2M steps" --competition NAME

Credentials, as the ``kaggle`` package reads them: ``~/.kaggle/kaggle.json`` (or
``$KAGGLE_CONFIG_DIR/kaggle.json``) with ``username`` and ``key``, or ``KAGGLE_USERNAME`` and
``KAGGLE_KEY``, or an API token (``KAGGLE_API_TOKEN`` or ``~/.kaggle/access_token``).

Exit codes: 0 submitted; 2 nothing could be tried from here (no credentials, no ``kaggle``
package, Kaggle unreachable); 1 anything else (archive missing or without ``main.py`` at its root,
Kaggle refused the submission). Every failure is one ``submit.py: ...`` line on stderr, never a
traceback. Before calling the API the script checks, with ``--timeout``, that the Kaggle API host
(or the HTTPS proxy in use) accepts a TCP connection, so a machine without network fails fast.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tarfile
import threading
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is training/submission/)
API_ENDPOINT = "https://api.kaggle.com"  # what kaggle 2.x's KaggleApi calls (KaggleEnv.PROD)
INSTALL_HINT = "pip install kaggle==2.2.4 six (both are in requirements.txt)"


class SubmitError(Exception):
    """A failure with its exit code; the message is the one line printed."""

    def __init__(self, msg, code):
        super().__init__(msg)
        self.code = code


def check_archive(path):
    """The archive must exist and hold ``main.py`` at its root (exit 1 otherwise)."""
    if not path.is_file():
        raise SubmitError(f"archive {path} not found; build it with: python scripts/package.py --weights PATH", 1)
    try:
        with tarfile.open(path) as tar:
            names = tar.getnames()
    except (tarfile.TarError, OSError) as e:
        raise SubmitError(f"archive {path} is not a readable tar.gz ({e})", 1) from None
    if "main.py" not in names:
        raise SubmitError(f"archive {path} has no main.py at its root; build it with scripts/package.py", 1)


def find_credentials(environ=None, home=None):
    """Where the kaggle package would find credentials; a description, or SubmitError (exit 2)."""
    environ = os.environ if environ is None else environ
    home = Path(environ.get("HOME") or Path.home()) if home is None else Path(home)
    if environ.get("KAGGLE_USERNAME") and environ.get("KAGGLE_KEY"):
        return "KAGGLE_USERNAME/KAGGLE_KEY"
    if environ.get("KAGGLE_API_TOKEN"):
        return "KAGGLE_API_TOKEN"
    conf_dir = Path(environ.get("KAGGLE_CONFIG_DIR") or home / ".kaggle")
    conf = conf_dir / "kaggle.json"
    if conf.is_file():
        try:
            data = json.loads(conf.read_text())
        except (OSError, ValueError) as e:
            raise SubmitError(f"{conf} is not readable JSON ({e})", 2) from None
        if not isinstance(data, dict) or not data.get("username") or not data.get("key"):
            raise SubmitError(f"{conf} must hold {{\"username\": ..., \"key\": ...}}", 2)
        return str(conf)
    token = conf_dir / "access_token"
    if token.is_file() and token.read_text().strip():
        return str(token)
    raise SubmitError(
        f"no Kaggle credentials: put kaggle.json (kaggle.com > Settings > API > Create New Token) in "
        f"{conf_dir}/ (chmod 600), or set KAGGLE_USERNAME and KAGGLE_KEY", 2)


def check_reachable(url, timeout):
    """TCP-connect to ``url``'s host (or to the proxy requests would use) within ``timeout`` seconds.

    Raises:
        SubmitError: exit 2, naming the host and the reason.
    """
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    target = f"{host}:{port}"
    proxy = urllib.request.getproxies().get(parts.scheme)
    via = ""
    if proxy and not urllib.request.proxy_bypass(host):
        p = urllib.parse.urlsplit(proxy if "://" in proxy else "http://" + proxy)
        via = f" via proxy {p.hostname}:{p.port or 80}"
        host, port = p.hostname, p.port or 80
    result = {}

    def _connect():  # DNS lookups ignore socket timeouts: run in a thread and wait at most `timeout`
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result["ok"] = True
        except OSError as e:
            result["error"] = e

    t = threading.Thread(target=_connect, daemon=True)
    t.start()
    t.join(timeout)
    if not result.get("ok"):
        why = result.get("error") or f"no answer within {timeout:g} s"
        raise SubmitError(f"cannot reach {target}{via} ({why}); no network? "
                          f"nothing was submitted", 2)


def default_message(archive):
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             timeout=10).stdout.strip()
    except Exception:
        sha = ""
    return f"luxkit {sha or 'unknown commit'} ({archive.name})"


def connect(timeout, environ=None):
    """An authenticated ``KaggleApi`` and where its credentials came from.

    Raises:
        SubmitError: (exit code 2) no credentials, the ``kaggle`` package is missing or does not
            import, ``api.kaggle.com`` does not answer within ``timeout`` seconds, or the
            credentials are refused.
    """
    where = find_credentials(environ)
    try:
        import importlib.util

        if importlib.util.find_spec("kaggle") is None:
            raise ImportError
    except (ImportError, ValueError):
        raise SubmitError(f"the kaggle package is not installed: {INSTALL_HINT}", 2) from None
    check_reachable(API_ENDPOINT, timeout)
    socket.setdefaulttimeout(max(60.0, timeout))  # no API call may hang forever
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as e:
        raise SubmitError(f"the kaggle package does not import ({e}): {INSTALL_HINT}", 2) from None
    api = KaggleApi()
    try:
        api.authenticate()
    except SystemExit:
        raise SubmitError(f"Kaggle authentication failed with the credentials in {where}", 2) from None
    return api, where


def submit(archive, competition, message, timeout, environ=None):
    """Check everything that can be checked here, then submit. Returns the API's message."""
    check_archive(archive)
    api, where = connect(timeout, environ)
    print(f"submitting {archive} ({archive.stat().st_size / 1024:.1f} KiB) to {competition} "
          f"as {where}: {message!r}", flush=True)
    try:
        resp = api.competition_submit(file_name=str(archive), message=message, competition=competition)
    except Exception as e:
        text = f"{type(e).__name__}: {e}".replace("\n", " ")
        network = isinstance(e, (OSError, socket.timeout)) or type(e).__module__.startswith(("requests", "urllib3"))
        if network and "HTTPError" not in type(e).__name__:
            raise SubmitError(f"lost the connection to Kaggle ({text[:300]}); nothing was submitted", 2) from None
        raise SubmitError(f"Kaggle refused the submission ({text[:300]})", 1) from None
    msg = getattr(resp, "message", None) or str(resp)
    if msg == getattr(api, "COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE", object()):
        raise SubmitError(f"the upload failed: {msg}", 1)
    return msg


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--archive", default=str(ROOT / "submission.tar.gz"), help="default: submission.tar.gz")
    ap.add_argument("--competition", default="lux-ai-season-2")
    ap.add_argument("--message", default=None, help="submission description (default: commit and archive name)")
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the Kaggle host (default 10)")
    args = ap.parse_args(argv)
    archive = Path(args.archive).resolve()
    try:
        msg = submit(archive, args.competition, args.message or default_message(archive), args.timeout)
    except SubmitError as e:
        print(f"submit.py: {e}", file=sys.stderr)
        return e.code
    except KeyboardInterrupt:
        print("submit.py: interrupted", file=sys.stderr)
        return 130
    except BaseException as e:  # never a traceback
        print(f"submit.py: unexpected {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
        return 1
    print(f"submitted: {msg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
