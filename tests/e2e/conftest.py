"""The controller fixtures (a real controller on SQLite and a real Mosquitto) for the end-to-end tests."""

from tests.controller.conftest import sqlite_url, sqlite_world  # noqa: F401 - fixtures, used by name
