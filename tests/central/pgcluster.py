# SPDX-License-Identifier: MIT
# A throw-away PostgreSQL cluster for the central tests: initdb and pg_ctl from Debian's postgresql
# package, in a temporary folder, listening on a unix socket only. initdb refuses to run as root,
# so under root (CI) the cluster runs as the unprivileged user "nobody" in a folder it owns.
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile

SUPERUSER = "postgres"
SUPERPASS = "central-test-superuser"


def pg_bindir():
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


class Cluster:
    """One cluster: start(), stop(), url(role, password), psql(sql, role)."""

    def __init__(self, prefix="f2fpay-pg-"):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (tests/install-deps)")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        os.chmod(self.dir, 0o755)
        self.data = os.path.join(self.dir, "data")
        self.sock = os.path.join(self.dir, "sock")
        os.mkdir(self.sock)
        self.run_as = None
        if os.geteuid() == 0:
            self.run_as = pwd.getpwnam("nobody")
            os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)
            os.chown(self.sock, self.run_as.pw_uid, self.run_as.pw_gid)
        pwfile = os.path.join(self.dir, "superuser.pw")
        with open(pwfile, "w") as f:
            f.write(SUPERPASS + "\n")
        if self.run_as:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        self._run("initdb", "-D", self.data, "-U", SUPERUSER, "--pwfile", pwfile,
                  "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8")
        self.log = os.path.join(self.dir, "server.log")
        self.running = False

    def _demote(self):
        if self.run_as:
            os.setgid(self.run_as.pw_gid)
            os.setgroups([])
            os.setuid(self.run_as.pw_uid)

    def _run(self, prog, *args):
        r = subprocess.run([os.path.join(self.bindir, prog), *args], preexec_fn=self._demote,
                           cwd=self.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{prog} failed ({r.returncode}): {r.stdout}")
        return r.stdout

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o",
                  f"-c listen_addresses='' -c unix_socket_directories='{self.sock}' "
                  "-c fsync=off -c max_connections=200", "start")
        self.running = True

    def stop(self, mode="fast"):
        if self.running:
            self._run("pg_ctl", "-D", self.data, "-w", "-t", "60", "-m", mode, "stop")
            self.running = False

    def _pids(self):
        """The postmaster and its children (the whole server)."""
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            master = int(f.readline())
        pids = [master]
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                            pids.append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        return pids

    def freeze(self):
        """The server stops answering (SIGSTOP) while its sockets stay open: a hung database."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self):
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def url(self, role=SUPERUSER, dbname="postgres"):
        # A unix socket folder goes in the host parameter of the URI.
        return f"postgresql:///{dbname}?host={self.sock}&user={role}"

    def psql(self, sql, role=SUPERUSER, password=SUPERPASS, dbname="postgres", check=True):
        """Runs sql; returns (rc, stdout, stderr), rows as unaligned '|' separated lines."""
        env = dict(os.environ, PGPASSWORD=password)
        r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h",
                            self.sock, "-U", role, "-d", dbname, "-c", sql],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"psql as {role} failed: {sql!r}: {r.stderr}")
        return r.returncode, r.stdout.strip(), r.stderr.strip()

    def close(self):
        try:
            self.thaw()
        except (OSError, ValueError):
            pass
        try:
            self.stop("immediate")
        except RuntimeError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def write_secret(folder, name, text):
    path = os.path.join(folder, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
    return path
