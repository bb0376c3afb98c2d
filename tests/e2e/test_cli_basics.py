"""The first commands: run, list, enable/disable, trigger, errors."""

import json

import pytest


def test_run_example_prints_its_greeting(task):
    r = task("run", "example")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Example task executed\n"
    assert "task example: success" in r.stderr


def test_list_shows_example_enabled(task):
    r = task("list")
    assert r.returncode == 0
    assert r.stdout == "example\tenabled\n"


def test_disable_persists_across_processes_and_refuses_runs(task):
    assert task("disable", "example").returncode == 0
    assert task("list").stdout == "example\tdisabled\n"
    r = task("run", "example")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: task 'example' is disabled (run 'task enable example' to enable it)"
    assert "Example task executed" not in r.stdout
    assert task("enable", "example").returncode == 0
    assert task("list").stdout == "example\tenabled\n"
    assert task("run", "example").returncode == 0


def test_a_disabled_dependency_refuses_its_dependents(task):
    task.write_config("tasks:\n  a: {echo: a}\n  b: {echo: b, after: [a]}\n")
    task("disable", "a")
    r = task("run", "b")
    assert r.returncode == 1
    assert "task 'a' is disabled and is a dependency of what was asked for" in r.stderr


def test_list_json_is_machine_readable(task):
    task.write_config("tasks:\n  a: {echo: a, kind: cron, description: first}\n  b: {echo: b, after: a}\n")
    tasks = json.loads(task("list", "--json").stdout)
    assert tasks == [
        {"name": "a", "enabled": True, "kind": "cron", "description": "first", "processor": "echo",
         "after": []},
        {"name": "b", "enabled": True, "kind": "manual", "description": "", "processor": "echo",
         "after": ["a"]},
    ]


def test_trigger_runs_manual_tasks_only(task):
    task.write_config("tasks:\n  m: {echo: manual, kind: manual}\n  c: {echo: scheduled, kind: cron}\n"
                      "  w: {echo: hooked, kind: webhook}\n")
    r = task("trigger", "m")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "manual\n"
    r = task("trigger", "c")
    assert r.returncode == 2
    assert r.stderr.strip() == (
        "error: task 'c' is a cron task; only manual tasks can be triggered (use 'task run c' to run it anyway)"
    )
    r = task("trigger", "w")
    assert r.returncode == 2 and "task 'w' is a webhook task" in r.stderr and r.stdout == ""


def test_trigger_refuses_a_task_without_a_kind_as_the_original_does(task):
    # The built-in default's `example` has no kind: it runs, it is not triggered.
    r = task("trigger", "example")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip() == (
        "error: task 'example' has no kind; only tasks with 'kind: manual' can be triggered "
        "(use 'task run example' to run it anyway, or give it 'kind: manual')"
    )
    r = task("run", "example")
    assert r.returncode == 0 and r.stdout == "Example task executed\n"
    task.write_config("tasks:\n  plain: {echo: plain}\n  dep: {echo: dep, kind: manual, after: [plain]}\n")
    r = task("trigger", "plain")
    assert r.returncode == 2 and "task 'plain' has no kind" in r.stderr and r.stdout == ""
    # A manual task is triggered with its dependencies, whatever their kinds.
    r = task("trigger", "dep")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["plain | plain", "dep | dep"]
    # The default kind is still reported as manual.
    kinds = {t["name"]: t["kind"] for t in json.loads(task("list", "--json").stdout)}
    assert kinds == {"plain": "manual", "dep": "manual"}


def test_config_is_found_through_the_environment_and_the_flag(task):
    path = task.write_config("tasks:\n  from_env: {echo: env}\n", name="other.yml")
    task.env["CASCADENCE_CONFIG"] = str(path)
    assert task("list").stdout == "from_env\tenabled\n"
    flag = task.write_config("tasks:\n  from_flag: {echo: flag}\n", name="flag.yml")
    assert task("--config", str(flag), "list").stdout == "from_flag\tenabled\n"
    assert task("list", "--config", str(flag)).stdout == "from_flag\tenabled\n"


def test_every_command_has_help(task):
    for command in ["list", "run", "trigger", "enable", "disable"]:
        r = task(command, "--help")
        assert r.returncode == 0, command
        assert r.stdout.startswith(f"usage: task {command}"), command
    r = task("--help")
    assert r.returncode == 0 and "commands:" in r.stdout


BAD_CONFIGS = [
    ("tasks:\n  a: {command: [echo\n", "cascadence.yml:3:1: end of sequence flow not found"),
    ("tasks:\n  a: {command: echo, retires: 2}\n", "cascadence.yml:2:22: tasks.a: unknown key 'retires'"),
    ("tasks:\n  a: {command: echo, timeout: 10 seconds}\n", "cascadence.yml:2:31: tasks.a.timeout: invalid duration '10 seconds'"),
    ("tasks:\n  a: {command: echo, after: [ghost]}\n", "cascadence.yml:2:6: task 'a' depends on unknown task 'ghost'"),
    ("tasks: [a, b]\n", "cascadence.yml:1:8: tasks: expected a mapping of task names to task definitions"),
    ("backend: nomad\n", "cascadence.yml:1:10: backend: unknown backend 'nomad'"),
    ("\t- not yaml\n", "cascadence.yml:"),
    # Hostile input: an alias that refers to itself, and aliases that expand
    # 652 bytes into ten billion values. Refused at once, with the position.
    ("tasks: {x: {echo: &a [*a]}}\n", "cascadence.yml:1:19: tasks.x.echo: nested more than 64 levels deep"),
    ("tasks:\n  x:\n    echo:\n      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
     + "".join(f"      a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 10)),
     "cascadence.yml:4:7: tasks.x.echo: more than 100000 values once YAML aliases are expanded"),
]


def test_a_configuration_file_over_16_mib_is_refused_unread(task):
    path = task.write_config("tasks:\n  a: {echo: x}\n" + "#" * (17 * 1024 * 1024) + "\n")
    r = task("list")
    assert r.returncode == 2, r
    assert r.stderr == f"error: cascadence.yml: cannot read configuration ({path.stat().st_size} bytes, more than the 16 MiB a configuration may have)\n"


@pytest.mark.parametrize("text,expected", BAD_CONFIGS)
def test_bad_configuration_gives_one_line_and_exit_2(task, text, expected):
    task.write_config(text)
    for args in (["list"], ["run", "a"]):
        r = task(*args)
        assert r.returncode == 2, r
        lines = r.stderr.splitlines()
        assert len(lines) == 1, r.stderr
        assert lines[0].startswith("error: " + expected), lines[0]
        assert r.stdout == ""


def test_unknown_task_on_the_command_line(task):
    r = task("run", "ghost")
    assert r.returncode == 2
    assert r.stderr == "error: unknown task 'ghost' (known tasks: example)\n"


@pytest.mark.parametrize(
    "args,expected",
    [
        (["run"], "error: missing task name; usage: task run NAME..."),
        (["run", "example", "--max-concurrency", "x"], "error: the argument ('x') for option '--max-concurrency' is invalid"),
        (["run", "example", "--input", "{nope"], "error: --input is not valid JSON"),
        (["frobnicate"], "error: unknown command 'frobnicate'"),
        (["--verbose", "list"], "error: unknown global option '--verbose'"),
    ],
)
def test_usage_errors_exit_2(task, args, expected):
    r = task(*args)
    assert r.returncode == 2
    assert r.stderr.startswith(expected), r.stderr
    assert len(r.stderr.splitlines()) == 1


def test_a_state_file_that_does_not_parse_is_reported_and_kept(task):
    (task.cwd / "task-state.yml").write_text("enabled: [oops\n")
    r = task("disable", "example")
    assert r.returncode == 2
    assert r.stderr.startswith("error: task-state.yml:")
    assert (task.cwd / "task-state.yml").read_text() == "enabled: [oops\n"
