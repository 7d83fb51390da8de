"""The test servers for the benchmarks: those of the environment when POSTDESK_TEST_* names them,
else a private set started with tests/servers.sh in a temp dir and stopped afterwards."""
import contextlib, os, re, shutil, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@contextlib.contextmanager
def test_server(variable):
    """Yields the host:port that POSTDESK_TEST_<variable> gives, starting the servers if needed."""
    name = "POSTDESK_TEST_" + variable
    if os.environ.get(name):
        yield os.environ[name]
        return
    d = tempfile.mkdtemp(prefix="pds.", dir="/tmp")
    script = os.path.join(ROOT, "tests/servers.sh")
    try:
        out = subprocess.run([script, "start", d], check=True, capture_output=True, text=True).stdout
        yield re.search(name + r"=(\S+)", out).group(1)
    finally:
        subprocess.run([script, "stop", d])
        time.sleep(1)
        shutil.rmtree(d, ignore_errors=True)
