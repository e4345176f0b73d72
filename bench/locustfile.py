"""Simulated users for `load_bench.py`: requesters, approvers and clerks signing in with two
factors and working through the pages over HTTP, CSRF tokens included."""

from __future__ import annotations

import json
import os
import random
import re
from urllib.parse import urlencode

import pyotp
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"], encoding="utf-8").read())  # noqa: SIM115
PASSWORD = ACCOUNTS["password"]
POOLS = {kind: list(users) for kind, users in ACCOUNTS["users"].items()}
# Seconds a user pauses between actions (LOAD_PAUSE="5-15" by default).
PAUSE = tuple(float(x) for x in os.environ.get("LOAD_PAUSE", "5-15").split("-", 1))
# With LOAD_MARK set, the figures are reset once every user has signed in (the sign-in rush
# is over) and the file named there is written, so load_bench.py measures CPU from then on.
MARK = os.environ.get("LOAD_MARK")
EVERYONE = sum(len(users) for users in POOLS.values())
signed_in = 0
CSRF = re.compile(r'name="([a-z_-]*csrf_token)"[^>]*value="([^"]+)"')


def _token(html: str, name: str = "csrf_token") -> str:
    for found, value in CSRF.findall(html):
        if found == name:
            return value
    return ""


class Signed(FastHttpUser):
    """Signs in once (password, notice, code) as the next free account of its kind."""

    # FastHttpUser (geventhttpclient) rather than HttpUser (requests): the load generator shares
    # the machine's cores with the server; measured, 1.6 instead of 3.6 ms of CPU a request.

    abstract = True
    kind = ""
    wait_time = between(*PAUSE)

    def on_start(self) -> None:
        self.account = POOLS[self.kind].pop()
        page = self.client.get("/login", name="page: sign-in").text
        self.submit("/login", "sign in: password", {
            "csrf_token": _token(page), "username": self.account["username"],
            "password": PASSWORD, "acknowledge": "y"})
        page = self.client.get("/login/code", name="page: code").text
        self.submit("/login/code", "sign in: code", {
            "csrf_token": _token(page), "code": pyotp.TOTP(self.account["secret"]).now()})
        global signed_in
        signed_in += 1
        if MARK and signed_in == EVERYONE:
            self.environment.runner.stats.reset_all()
            with open(MARK, "w", encoding="utf-8") as mark:
                mark.write("signed in\n")

    def submit(self, url: str, name: str, fields: dict, **kwargs):
        """POST a form as a browser does (a list is the same field repeated)."""
        return self.client.post(url, name=name, data=urlencode(fields, doseq=True), headers={
            "Content-Type": "application/x-www-form-urlencoded"}, **kwargs)

    def search(self, query: str) -> None:
        page = self.client.get("/search", name="page: search").text
        self.submit("/search", "search", {"csrf_token": _token(page), "q": query})


class Requester(Signed):
    """A procuracy officer: follows their requests, files new ones, downloads extracts."""

    kind = "requester"
    weight = 7

    @task(3)
    def my_requests(self) -> None:
        self.client.get("/requests/", name="page: my requests")

    @task(2)
    def home(self) -> None:
        self.client.get("/", name="page: home")

    @task(1)
    def file_request(self) -> None:
        page = self.client.get("/requests/new", name="page: new request").text
        self.submit("/requests/new", "file a request", {
            "csrf_token": _token(page), "channel": "network", "subject_kind": "person",
            "identity_number": random.choice(ACCOUNTS["identities"]),  # noqa: S311
            "categories": ["a_orders", "episodes"], "purpose": "Kiểm sát việc tạm giam",
            "legal_basis": "Điều 12 Nghị định 121/2017/NĐ-CP", "provision": "pdf",
            "urgency": "normal", "action": "submit"})

    @task(1)
    def download(self) -> None:
        # 410 once the extract's download limit is used up: an answer, not an error.
        with self.client.get(f"/documents/{self.account['extract']}/download",
                             name="extract download", catch_response=True) as answer:
            if answer.status_code in (200, 410):
                answer.success()


class Approver(Signed):
    """A provincial approver: works through the queue and approves."""

    kind = "approver"
    weight = 2

    @task(3)
    def queue(self) -> None:
        page = self.client.get("/requests/?view=approval", name="page: approval queue").text
        ids = re.findall(r'href="/requests/(\d+)"', page)
        if ids:
            self.decide(random.choice(ids))  # noqa: S311

    def decide(self, request_id: str) -> None:
        page = self.client.get(f"/requests/{request_id}", name="page: request").text
        token = _token(page, "approve-csrf_token")
        version = re.search(r'name="version" value="(\d+)"', page)
        if token and version:
            # Another approver may have decided first: the page says so (302 back to it, or
            # 409/422 when it happened at the very same moment); not errors.
            with self.submit(f"/requests/{request_id}", "approve", {
                    "approve-csrf_token": token, "action": "approve",
                    "version": version.group(1),
                    "approve-categories": ["a_orders", "episodes"]},
                    catch_response=True) as answer:
                if answer.status_code in (200, 302, 409, 422):
                    answer.success()


class Clerk(Signed):
    """A records clerk: searches and opens records."""

    kind = "clerk"
    weight = 1

    @task
    def search_and_open(self) -> None:
        self.search("nguyen van")
