"""One session per ID at a time, the --logs folder checked before any window, and the files a stop leaves (no window)."""

import json
import os
import socket
import subprocess

import pytest

from experiment import logfile
from experiment.cli import main
from experiment.logfile import SessionLock, SessionLocked, check_logs_folder

from .stimuli_fixture import make_stimuli


def _dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # reaped: no process has this PID now (PIDs are not reused at once)


def _write_lock(logs, participant="P01", **fields):
    logs.mkdir(parents=True, exist_ok=True)
    path = logs / f"{participant}_halfface.lock"
    path.write_text(json.dumps({"participant": participant, "session": 1, "host": socket.gethostname(),
                                "started": "2026-12-04T23:53:29+08:00", "stem": "P01_halfface_2026-12-04_23h53.29.396",
                                **fields}))
    return path


def test_a_second_lock_on_the_same_id_is_refused_naming_the_running_session(tmp_path):
    with SessionLock(tmp_path, "P01").acquire(resume=False, session=1, stem="P01_halfface_x") as first:
        first.update(stem="P01_halfface_2026-12-04_23h53.29.396")
        with pytest.raises(SessionLocked) as err:
            SessionLock(tmp_path, "P01").acquire(resume=True, session=1)  # live: not even --resume takes it
        message = str(err.value)
        assert f"PID {os.getpid()} on {socket.gethostname()}" in message
        assert "P01_halfface_2026-12-04_23h53.29.396" in message and "already being tested" in message
        SessionLock(tmp_path, "P02").acquire(resume=False, session=1).release()  # another ID is free
    assert not (tmp_path / "P01_halfface.lock").exists()  # released on leaving


def test_a_stale_lock_is_reported_and_taken_over_only_with_resume(tmp_path):
    path = _write_lock(tmp_path, pid=_dead_pid())
    with pytest.raises(SessionLocked, match="stale lock.*no longer running.*--resume"):
        SessionLock(tmp_path, "P01").acquire(resume=False, session=1)
    assert path.exists()
    lock = SessionLock(tmp_path, "P01").acquire(resume=True, session=1)
    assert lock.took_over["pid"] != os.getpid() and json.loads(path.read_text())["pid"] == os.getpid()
    lock.release()


def test_a_refused_resume_leaves_the_stale_lock_it_took_over_as_it_was(tmp_path, capsys):
    # The stale lock is the only record of which session stopped: a refused start must not delete it.
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    logs = tmp_path / "logs"
    path = _write_lock(logs, participant="P05", pid=_dead_pid())
    before = path.read_text()
    code = main(["run", "--participant", "P05", "--resume", "--conditions", str(manifest), "--logs", str(logs)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nothing to resume" in err
    assert path.read_text() == before
    assert sorted(p.name for p in logs.iterdir()) == [path.name]  # no .tmp left either


def test_abandon_without_a_take_over_removes_the_lock(tmp_path):
    lock = SessionLock(tmp_path / "logs", "P01").acquire(resume=True, session=1)
    lock.abandon()
    assert not (tmp_path / "logs").exists()  # the folder it made goes too, as with release()


def test_a_lock_from_another_host_counts_as_live(tmp_path):
    _write_lock(tmp_path, pid=_dead_pid(), host="booth-2.example")  # its PID cannot be checked from here
    with pytest.raises(SessionLocked, match="already being tested.*booth-2.example"):
        SessionLock(tmp_path, "P01").acquire(resume=True, session=1)


def test_a_second_start_while_the_id_is_locked_is_refused_before_a_window_opens(tmp_path, capsys):
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    logs = tmp_path / "logs"
    with SessionLock(logs, "P01").acquire(resume=False, session=1, stem="P01_halfface_running"):
        before = sorted(p.name for p in logs.iterdir())
        # in-process: a window would need a display this test does not have
        code = main(["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(logs)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1
        assert "participant P01 is already being tested: session 1" in err and f"PID {os.getpid()}" in err
        assert sorted(p.name for p in logs.iterdir()) == before  # nothing written


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_an_unusable_logs_folder_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, where):
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    if where == "under_a_file":
        (tmp_path / "notes.txt").write_text("a file")
        logs, reason = tmp_path / "notes.txt" / "logs", "would be inside"
    else:
        logs, reason = "/proc/halfface_logs", "cannot create folders in /proc"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code = main(["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(logs)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: --logs {logs}: ") and reason in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.fixture
def read_only_folder(tmp_path):
    """A read-only tmpfs: root ignores permission bits, so a chmod'ed folder would not stop it."""
    folder = tmp_path / "ro"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        if os.geteuid() == 0:
            pytest.skip(f"cannot mount a read-only tmpfs here: {done.stderr.decode().strip()}")
        folder.chmod(0o500)  # not root: permission bits suffice
        yield folder
        folder.chmod(0o700)
        return
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_a_read_only_logs_folder_is_refused(read_only_folder, tmp_path, capsys):
    manifest = make_stimuli(tmp_path / "stim", n_photos=2)
    for logs in (read_only_folder, read_only_folder / "new" / "logs"):
        code = main(["run", "--participant", "P01", "--conditions", str(manifest), "--logs", str(logs)])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and str(logs) in err
        assert "Read-only file system" in err or "Permission denied" in err
    assert list(read_only_folder.iterdir()) == []


def test_a_network_logs_folder_is_refused_unless_allowed(tmp_path, monkeypatch):
    monkeypatch.setattr(logfile, "filesystem_type", lambda path: "nfs4")
    with pytest.raises(ValueError, match="network file system \\(nfs4\\).*--allow-network-logs"):
        check_logs_folder(tmp_path)
    check_logs_folder(tmp_path, allow_network=True)
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing


def test_the_local_disk_is_recognised():
    assert logfile.filesystem_type("/proc") == "proc"
    assert logfile.filesystem_type("/") not in logfile.NETWORK_FILESYSTEMS
