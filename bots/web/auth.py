"""Signing in and out of the console: sessions in sealed cookies, CSRF tokens, password and one-time-link sign-in."""

from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import web

from bots.web.security import SECURITY_HEADERS
from core.people.accounts import Account, Session, SigninLocked

if TYPE_CHECKING:
    from bots.web.console import WebConsole

SESSION_KEY: web.RequestKey[Session | None] = web.RequestKey("sorabox_web_session", Session)
SESSION_COOKIE = "sorabox_session"
PRESESSION_COOKIE = "sorabox_pre"


# A path on this site: one slash, then only the characters a URL path and query may hold literally. Browsers drop
# tabs and newlines and read a backslash as a slash, so "/\t/evil.example" or "/\\evil.example" would leave the site.
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*")


def local_path(candidate: str, default: str) -> str:
    """`candidate` if it is a path on this site, else `default`: a sign-in must not send the browser elsewhere."""
    return candidate if _LOCAL_PATH.fullmatch(candidate) else default


class Auth:
    """Who a request is (`session`, `require`), whether it may change anything (`check_csrf`), and the sign-in
    routes."""

    def __init__(self, console: WebConsole) -> None:
        self.console = console
        self.accounts = console.accounts

    async def session(self, request: web.Request) -> Session | None:
        if SESSION_KEY not in request:
            session_id = self.console.signer.unseal("session", request.cookies.get(SESSION_COOKIE))
            request[SESSION_KEY] = await self.accounts.session(session_id) if session_id else None
        return request[SESSION_KEY]

    async def require(self, request: web.Request, api: bool = False, admin: bool = False) -> Session:
        session = await self.session(request)
        if session is None:
            if api:
                raise web.HTTPUnauthorized(text="sign in first", headers=SECURITY_HEADERS)
            raise web.HTTPFound(f"/signin?{urlencode({'next': request.path_qs})}")
        if admin and not session.account.is_admin:
            raise web.HTTPForbidden(text="this page is for admins", headers=SECURITY_HEADERS)
        return session

    def check_csrf(self, request: web.Request, expected: str, form: Any = None) -> None:
        """Every state-changing request carries the session's token (a header for fetch, a field for forms)."""
        given = request.headers.get("X-CSRF-Token") or (form.get("csrf") if form is not None else None)
        if not given or not isinstance(given, str) or not self.console.signer.verify("csrf", expected, given):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page", headers=SECURITY_HEADERS)

    def csrf_token(self, session: Session) -> str:
        # A signature of the stored token, so the token in pages differs from the one in the database.
        return self.console.signer.signature("csrf", session.csrf_token)

    def _set_session_cookie(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.console.signer.seal("session", session.id),
            max_age=14 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=self.console.web_settings.secure_cookies,
            path="/",
        )
        response.del_cookie(PRESESSION_COOKIE, path="/")

    def _presession(self, request: web.Request, response_cookies: dict[str, str]) -> str:
        """A token for sign-in forms, before there is a session: the cookie and the form field must match."""
        value = self.console.signer.unseal("pre", request.cookies.get(PRESESSION_COOKIE))
        if value is None:
            value = secrets.token_urlsafe(24)
            response_cookies[PRESESSION_COOKIE] = self.console.signer.seal("pre", value)
        return value

    def _check_presession(self, request: web.Request, form: Any) -> None:
        value = self.console.signer.unseal("pre", request.cookies.get(PRESESSION_COOKIE))
        given = form.get("csrf")
        if value is None or not isinstance(given, str) or given != value:
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page", headers=SECURITY_HEADERS)

    async def signin_page(self, request: web.Request) -> web.Response:
        session = await self.session(request)
        if session is not None:
            raise web.HTTPFound("/threads")
        cookies: dict[str, str] = {}
        token = self._presession(request, cookies)
        return self.console.render(
            "signin.html", None, cookies=cookies, csrf=token, error="", next=request.query.get("next", "")
        )

    async def signin_password(self, request: web.Request) -> web.Response:
        form = await request.post()
        self._check_presession(request, form)
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        try:
            # The core counts wrong passwords per name in the database, so a restart does not reset them.
            account = await self.accounts.sign_in_with_password(name, password, client=request.remote or "")
        except SigninLocked as exc:
            raise web.HTTPTooManyRequests(text=str(exc), headers=SECURITY_HEADERS) from None
        if account is None:
            cookies: dict[str, str] = {}
            token = self._presession(request, cookies)
            return self.console.render(
                "signin.html",
                None,
                status=401,
                cookies=cookies,
                csrf=token,
                error="that name and password do not match",
                next=str(form.get("next", "")),
            )
        return await self._signed_in(account, str(form.get("next", "")))

    async def _signed_in(self, account: Account, next_path: str) -> web.Response:
        session = await self.accounts.start_session(account)
        response = web.HTTPFound(local_path(next_path, default="/threads"))
        self._set_session_cookie(response, session)
        raise response

    async def link_page(self, request: web.Request) -> web.Response:
        """Confirm before using the link: chat apps fetch links for previews, which must not spend it."""
        account = await self.accounts.peek_link_token(request.match_info["token"])
        cookies: dict[str, str] = {}
        token = self._presession(request, cookies)
        return self.console.render(
            "link.html", None, status=200 if account else 410, cookies=cookies, csrf=token, account=account
        )

    async def link_signin(self, request: web.Request) -> web.Response:
        form = await request.post()
        self._check_presession(request, form)
        account = await self.accounts.redeem_link_token(request.match_info["token"])
        if account is None:
            return self.console.render("link.html", None, status=410, csrf="", account=None)
        return await self._signed_in(account, "/threads")

    async def signout(self, request: web.Request) -> web.Response:
        session = await self.require(request)
        self.check_csrf(request, session.csrf_token, await request.post())
        await self.accounts.end_session(session.id)
        response = web.HTTPFound("/signin")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response
