"""Which stack the emulator deploys: the checkout, the installed copy, or `--project-dir DIR`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from mlpromote_cli.main import main
from mlpromote_emulator import project
from mlpromote_emulator.project import InvalidProjectDir, project_dir

REPO = Path(__file__).resolve().parents[2]
SCENARIO = yaml.safe_load((REPO / "src" / "mlpromote_emulator" / "demo.yaml").read_text(encoding="utf-8"))


def _stack_copy(directory: Path) -> Path:
    """The files the emulator deploys, as a checkout has them."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "template.yaml", directory / "template.yaml")
    shutil.copytree(REPO / "statemachines", directory / "statemachines")
    shutil.copytree(REPO / "functions", directory / "functions", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("templates/target-account.yaml", "tools/render_access_roles.py"):
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, directory / name)
    shutil.copytree(REPO / "policies" / "scp", directory / "policies" / "scp")
    return directory


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    return path


def _commands(scenario: Path) -> list[list[str]]:
    return [
        ["demo"],
        ["local", "promote", "--scenario", str(scenario), "--json"],
        ["local", "drift", "--scenario", str(scenario)],
        ["local", "serve", "--scenario", str(scenario), "--port", "0"],
    ]


@pytest.mark.parametrize("which", range(4), ids=["demo", "promote", "drift", "serve"])
def test_a_missing_project_dir_is_refused_before_anything_runs(
    which: int, tmp_path: Path, scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-checkout"
    assert main([*_commands(scenario_file)[which], "--project-dir", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"InvalidProjectDir: --project-dir {missing}: no such directory; give a checkout of mlpromote: "
        "the folder with template.yaml, statemachines/ and functions/\n"
    )
    assert captured.out == ""


def test_a_project_dir_missing_a_handler_names_the_file_and_who_needs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = _stack_copy(tmp_path / "checkout")
    (stack / "functions" / "smoke_test" / "app.py").unlink()
    (stack / "statemachines" / "promote_model.asl.json").unlink()
    assert main(["demo", "--json", "--project-dir", str(stack)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"InvalidProjectDir: --project-dir {stack}: missing statemachines/promote_model.asl.json "
        "(named by PromoteModelStateMachine), functions/smoke_test/app.py (named by SmokeTestFunction)\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Resources: [unclosed\n", "template.yaml is not YAML: while parsing a flow sequence"),
        ("- a list\n", "template.yaml is not a mapping (a SAM template)"),
        ("Parameters: {}\n", "template.yaml has no Resources mapping"),
    ],
)
def test_a_template_that_is_not_one_is_refused(
    text: str, problem: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "template.yaml").write_text(text, encoding="utf-8")
    assert main(["demo", "--project-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"InvalidProjectDir: --project-dir {tmp_path}: {problem}")


def test_project_dir_rehearses_an_edited_checkout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An edit to a handler in another checkout is what runs: the smoke test now fails, and prod stays on v1."""
    stack = _stack_copy(tmp_path / "edited")
    handler = stack / "functions" / "smoke_test" / "app.py"
    source = handler.read_text(encoding="utf-8")
    edited = source.replace(
        "    plan = AccountPlan.model_validate",
        '    raise SmokeTestFailed("the edited handler ran")\n    plan = AccountPlan.model_validate',
    ).replace(
        "from mlpromote.plan import AccountPlan",
        "from mlpromote.errors import SmokeTestFailed\nfrom mlpromote.plan import AccountPlan",
    )
    assert edited != source
    handler.write_text(edited, encoding="utf-8")

    assert main(["demo", "--json", "--project-dir", str(stack)]) == 1
    report = json.loads(capsys.readouterr().out)
    [promotion] = report["promotions"]
    assert (promotion["status"], promotion["error"]) == ("FAILED", "SmokeTestFailed")
    assert "the edited handler ran" in promotion["cause"]
    world = report["world"]
    assert world["parameters"]["prod"]["tools"] == {"333333333333": "tools/v1", "444444444444": "tools/v1"}
    assert world["grants"]["prod"] == ["tools/v1"]
    assert world["versions"]["tools/v1"] == "RUNNING"


def test_the_checkout_is_the_default_in_an_editable_install() -> None:
    assert project_dir() == REPO


def test_the_installed_copy_is_used_where_there_is_no_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    packaged = _stack_copy(tmp_path / "site-packages" / "mlpromote_emulator" / "_stack")
    monkeypatch.setattr(project, "CHECKOUT_DIR", tmp_path / "lib")
    monkeypatch.setattr(project, "PACKAGE_DATA_DIR", packaged)
    assert project_dir() == packaged.resolve()


def test_an_install_without_the_stack_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(project, "CHECKOUT_DIR", tmp_path / "lib")
    monkeypatch.setattr(project, "PACKAGE_DATA_DIR", tmp_path / "lib" / "mlpromote_emulator" / "_stack")
    with pytest.raises(InvalidProjectDir, match=r"carries no template\.yaml .*`pip install \.`, or pass --project-dir"):
        project_dir()
