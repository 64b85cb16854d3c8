"""The README's two commands are the ones CI and the tests rely on."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_opens_with_the_run_and_test_commands():
    run, test = readme_commands()
    assert run.endswith("fleetgraph serve --demo")
    assert test.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text()
