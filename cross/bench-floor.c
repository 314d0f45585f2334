/* The floor of a /proc pass, for cross/bench.sh: open /proc once, and for every numeric entry
 * open, read and close N/comm relative to that directory descriptor; nothing else. Built at
 * bench time with `cc -O2 -static` (raw getdents64, no opendir: no malloc, no stdio).
 *
 *   bench-floor [PROC_DIR]   the pass (default /proc); exit 0 when at least one comm was read
 *   bench-floor none         no pass: exec and exit, the fixed cost subtracted from the pass
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct dirent64_raw {
	unsigned long long ino;
	long long off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "none") == 0)
		return 0;
	int dir = open(argc > 1 ? argv[1] : "/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return 1;
	static char buf[8192]; /* the agent's getdents64 buffer size */
	char path[32], comm[64];
	unsigned long read_ok = 0;
	long n;
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
		for (long off = 0; off < n;) {
			struct dirent64_raw *e = (struct dirent64_raw *)(buf + off);
			off += e->reclen;
			size_t i = 0;
			while (i < 20 && e->name[i] >= '0' && e->name[i] <= '9') {
				path[i] = e->name[i];
				i++;
			}
			if (i == 0 || e->name[i] != '\0')
				continue;
			memcpy(path + i, "/comm", sizeof "/comm");
			int f = openat(dir, path, O_RDONLY | O_CLOEXEC);
			if (f < 0)
				continue;
			if (read(f, comm, sizeof comm) > 0)
				read_ok++;
			close(f);
		}
	}
	return read_ok ? 0 : 1;
}
