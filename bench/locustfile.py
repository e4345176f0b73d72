"""Simulated users for `load_bench.py`: requesters, approvers and clerks signing in with two
factors and working through the pages over HTTP, CSRF tokens included."""

from __future__ import annotations

import json
import os
import random
import re

import pyotp
from locust import HttpUser, between, task

ACCOUNTS = json.loads(open(os.environ["LOAD_ACCOUNTS"], encoding="utf-8").read())  # noqa: SIM115
PASSWORD = ACCOUNTS["password"]
POOLS = {kind: list(users) for kind, users in ACCOUNTS["users"].items()}
CSRF = re.compile(r'name="([a-z_-]*csrf_token)"[^>]*value="([^"]+)"')


def _token(html: str, name: str = "csrf_token") -> str:
    for found, value in CSRF.findall(html):
        if found == name:
            return value
    return ""


class Signed(HttpUser):
    """Signs in once (password, notice, code) as the next free account of its kind."""

    abstract = True
    kind = ""
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.account = POOLS[self.kind].pop()
        page = self.client.get("/login", name="page: sign-in").text
        self.client.post("/login", name="sign in: password", data={
            "csrf_token": _token(page), "username": self.account["username"],
            "password": PASSWORD, "acknowledge": "y"})
        page = self.client.get("/login/code", name="page: code").text
        self.client.post("/login/code", name="sign in: code", data={
            "csrf_token": _token(page), "code": pyotp.TOTP(self.account["secret"]).now()})

    def search(self, query: str) -> None:
        page = self.client.get("/search", name="page: search").text
        self.client.post("/search", name="search", data={"csrf_token": _token(page), "q": query})


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
        self.client.post("/requests/new", name="file a request", data={
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
            with self.client.post(f"/requests/{request_id}", name="approve", data={
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
