/* SPDX-License-Identifier: MIT */
/* Golden-file tests of the configuration: good configs dump exactly, bad ones fail exactly. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "common/log.h"
#include "config/config.h"
#include "test.h"

/*
 * Usage:
 *   test-config golden DIR      each DIR/x.conf must load and dump as DIR/x.dump, or fail
 *                               with the log lines of DIR/x.err
 *   test-config example FILE    FILE (the shipped example) must pass every check
 *   test-config shipped FILE    FILE (the packaged config) must be refused with one "edit FILE:"
 *                               line per EDIT-ME placeholder, and load once they are filled in
 *   test-config manpage FILE    every key of the table is documented in FILE with its default,
 *                               and FILE documents no key the table lacks
 * "@DIR@" in configs and expectations stands for a temporary directory holding key files
 * (mode 0600) and a credentials directory, so that file checks run for real.
 * With F2FPAY_REGENERATE=1 the expectations are written instead of compared.
 */

static char tmpdir[] = "/tmp/f2fpay-config-XXXXXX";

static void
write_file(const char *dir, const char *name, mode_t mode)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	CHECK(write(fd, "test\n", 5) == 5);
	CHECK(fchmod(fd, mode) == 0);
	close(fd);
}

static void
setup_keys(void)
{
	char creds[600];

	CHECK(mkdtemp(tmpdir));
	write_file(tmpdir, "app.key", 0600);
	write_file(tmpdir, "app-0640.key", 0640);
	write_file(tmpdir, "app-0604.key", 0604);
	write_file(tmpdir, "alipay.pub", 0644);
	write_file(tmpdir, "app.crt", 0644);
	write_file(tmpdir, "alipay.crt", 0644);
	write_file(tmpdir, "root.crt", 0644);
	write_file(tmpdir, "ca.pem", 0644);
	snprintf(creds, sizeof(creds), "%s/creds", tmpdir);
	CHECK(mkdir(creds, 0700) == 0);
	write_file(creds, "app_private_key", 0400);
	write_file(creds, "alipay_public_key", 0444);
	write_file(creds, "central_password", 0400);
	/* A credential holding a bearer token of 32 characters. */
	char tok[700];
	snprintf(tok, sizeof(tok), "%s/api_token", creds);
	FILE *f = fopen(tok, "we");
	CHECK(f);
	fputs("0123456789abcdef0123456789abcdef\n", f);
	fclose(f);
	CHECK(setenv("CREDENTIALS_DIRECTORY", creds, 1) == 0);
}

static void
cleanup_keys(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	CHECK(system(cmd) == 0);
}

static char *
read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *data;
	size_t n;

	if (!f)
		return NULL;
	data = malloc(1 << 20);
	CHECK(data);
	n = fread(data, 1, (1 << 20) - 1, f);
	data[n] = 0;
	fclose(f);
	if (ret_len)
		*ret_len = n;
	return data;
}

/* Returns a new string with every `from` replaced by `to`. */
static char *
replace(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to),
	       cap = strlen(s) * (tl > fl ? tl / fl + 2 : 1) + 1;
	char *out = malloc(cap + 1), *o = out;

	CHECK(out);
	while (*s) {
		if (strncmp(s, from, fl) == 0) {
			memcpy(o, to, tl);
			o += tl;
			s += fl;
		} else
			*o++ = *s++;
	}
	*o = 0;
	return out;
}

static void
write_expectation(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	CHECK(f);
	fputs(text, f);
	fclose(f);
}

static int
run_one(const char *dir, const char *name)
{
	char path[1024], exp_path[1024];
	char *raw, *text, *out = NULL, *got, *expected;
	size_t out_len = 0, dump_at, len;
	struct config *c = NULL;
	FILE *log;
	int r, fail = 0;
	bool regen = getenv("F2FPAY_REGENERATE") != NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	raw = read_all(path, &len);
	CHECK(raw);
	if (strstr(raw, "@DIR@")) {
		text = replace(raw, "@DIR@", tmpdir);
		len = strlen(text);
	} else {
		/* Byte for byte, NULs included. */
		text = malloc(len + 1);
		CHECK(text);
		memcpy(text, raw, len + 1);
	}

	log = open_memstream(&out, &out_len);
	CHECK(log);
	log_set_stream(log);
	log_set_prefix(0);
	r = config_load_string(text, len, name, 0, &c);
	/* What the load logged (a deprecated key's warning) goes before the dump. */
	fflush(log);
	dump_at = out_len;
	if (r == 0)
		CHECK(config_dump(c, log) == 0);
	fclose(log);
	log_set_stream(NULL);
	got = replace(out, tmpdir, "@DIR@");

	snprintf(exp_path, sizeof(exp_path), "%s/%.*s.%s", dir, (int)(strlen(name) - 5), name,
		 r == 0 ? "dump" : "err");
	if (regen)
		write_expectation(exp_path, got);
	expected = read_all(exp_path, NULL);
	if (!expected) {
		fprintf(stderr, "%s: %s, but %s is missing; output was:\n%s", name,
			r == 0 ? "loaded" : "failed", exp_path, got);
		fail = 1;
	} else if (!STR_EQ(expected, got)) {
		fprintf(stderr, "%s: output differs from %s\n--- expected\n%s--- got\n%s", name,
			exp_path, expected, got);
		fail = 1;
	}
	/* The dump is a config too: it must load and dump identically (secrets aside). */
	if (r == 0 && !strstr(out + dump_at, "(redacted)")) {
		char *again = NULL;
		size_t again_len = 0;
		struct config *c2 = NULL;
		FILE *f = open_memstream(&again, &again_len);
		CHECK(f);
		log_set_stream(f);
		CHECK_INT_EQ(config_load_string(out + dump_at, strlen(out + dump_at), name, 0, &c2),
			     0);
		CHECK(config_dump(c2, f) == 0);
		fclose(f);
		log_set_stream(NULL);
		if (!STR_EQ(again, out + dump_at)) {
			fprintf(stderr, "%s: the dump does not parse back to itself:\n%s", name,
				again);
			fail = 1;
		}
		config_free(c2);
		free(again);
	}
	config_free(c);
	free(raw);
	free(text);
	free(out);
	free(got);
	free(expected);
	return fail;
}

static int
run_golden(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), failed = 0, count = 0;

	CHECK(n >= 0);
	for (int i = 0; i < n; i++) {
		size_t l = strlen(names[i]->d_name);
		if (l > 5 && STR_EQ(names[i]->d_name + l - 5, ".conf")) {
			failed += run_one(dir, names[i]->d_name);
			count++;
		}
		free(names[i]);
	}
	free(names);
	CHECK(count > 0);
	printf("%d configs, %d failed\n", count, failed);
	return failed ? 1 : 0;
}

static int
run_example(const char *path)
{
	struct config *c = NULL;

	CHECK_INT_EQ(config_load_file(path, 0, &c), 0);
	CHECK(c->n_scanners > 0);
	CHECK(c->alipay.app_private_key_resolved);
	config_free(c);
	return 0;
}

/* The packaged config: refused, naming the file to edit, until its placeholders are replaced. */
static int
run_shipped(const char *path)
{
	static const struct {
		const char *key, *value;
	} fill[] = {
		{"app_id", "2021000000000001"},
		{"store_id", "store-001"},
		{"terminal_id", "T01"},
	};
	_cleanup_free_ char *out = NULL, *prefix = NULL;
	char *text, *line, *save = NULL;
	struct config *c = NULL;
	size_t out_len = 0, len;
	unsigned placeholders = 0, refusals = 0;
	FILE *log;

	text = read_all(path, &len);
	CHECK(text);
	for (const char *p = text; (p = strstr(p, "= " CONFIG_PLACEHOLDER)); p++)
		placeholders++;
	CHECK(placeholders == ELEMENTSOF(fill));

	log = open_memstream(&out, &out_len);
	CHECK(log);
	log_set_stream(log);
	log_set_prefix(0);
	CHECK_INT_EQ(config_load_file(path, 0, &c), -EINVAL);
	fclose(log);
	log_set_stream(NULL);
	CHECK(asprintf(&prefix, "edit %s: line ", path) > 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, prefix, strlen(prefix)) != 0 || !strstr(line, "is not set yet")) {
			fprintf(stderr, "unexpected message: %s\n", line);
			return 1;
		}
		refusals++;
	}
	CHECK(refusals == placeholders);

	/* The file untouched, the values in a drop-in instead: the drop-in wins. */
	{
		char dir[256], conf[300], dropin_dir[320], dropin[360];
		FILE *f;

		snprintf(dir, sizeof(dir), "%s/shipped", tmpdir);
		snprintf(conf, sizeof(conf), "%s/f2fpayd.conf", dir);
		snprintf(dropin_dir, sizeof(dropin_dir), "%s.d", conf);
		snprintf(dropin, sizeof(dropin), "%s/local.conf", dropin_dir);
		CHECK(mkdir(dir, 0700) == 0 && mkdir(dropin_dir, 0700) == 0);
		f = fopen(conf, "we");
		CHECK(f);
		fputs(text, f);
		fclose(f);
		f = fopen(dropin, "we");
		CHECK(f);
		fputs("[alipay]\napp_id = 2021000000000001\n[terminal]\nstore_id = store-001\n"
		      "terminal_id = T01\n",
		      f);
		fclose(f);
		CHECK_INT_EQ(config_load_file(conf, 0, &c), 0);
		config_free(c);
		c = NULL;
	}

	/* Each placeholder line replaced by a real value: the rest of the file must be valid. */
	for (size_t i = 0; i < ELEMENTSOF(fill); i++) {
		char *at = strstr(text, fill[i].key), *eol, *next;
		CHECK(at && strstr(at, "= " CONFIG_PLACEHOLDER) == at + strlen(fill[i].key) + 1);
		eol = strchr(at, '\n');
		CHECK(eol);
		CHECK(asprintf(&next, "%.*s%s = %s%s", (int)(at - text), text, fill[i].key,
			       fill[i].value, eol) > 0);
		free(text);
		text = next;
	}
	CHECK_INT_EQ(config_load_string(text, strlen(text), path, 0, &c), 0);
	config_free(c);
	free(text);
	printf("%u placeholders refused; the file loads once filled in, or with a drop-in\n",
	       placeholders);
	return 0;
}

/* The entry of `key` inside the "[section]" part of the man page, up to the next .TP/.SS. */
static const char *
man_entry(const char *man, const char *section, const char *key, size_t *ret_len)
{
	char head[64], item[96];
	const char *s, *e, *k, *end;

	snprintf(head, sizeof(head), ".SS \"[%s%s]\"", section,
		 STR_EQ(section, "scanner") ? " NAME" : "");
	s = strstr(man, head);
	if (!s)
		return NULL;
	s += strlen(head);
	e = strstr(s, "\n.SS ");
	if (!e)
		e = s + strlen(s);
	snprintf(item, sizeof(item), "\n.TP\n\\fB%s\\fR", key);
	k = strstr(s, item);
	if (!k || k > e)
		return NULL;
	k += 1;
	end = strstr(k + 4, "\n.TP");
	if (!end || end > e)
		end = e;
	*ret_len = (size_t)(end - k);
	return k;
}

static int
run_manpage(const char *path)
{
	char *man = read_all(path, NULL), *table = NULL, *line, *save = NULL;
	size_t table_len = 0, documented = 0, failed = 0;
	FILE *f = open_memstream(&table, &table_len);

	CHECK(man && f);
	CHECK(config_table_dump(f) == 0);
	fclose(f);
	for (line = strtok_r(table, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sec = line, *key = strchr(sec, '\t'), *def;
		char want[160];
		size_t len;
		const char *entry;

		CHECK(key);
		*key++ = 0;
		def = strchr(key, '\t');
		CHECK(def);
		*def++ = 0;
		entry = man_entry(man, sec, key, &len);
		if (!entry) {
			fprintf(stderr, "%s: [%s] %s is not documented\n", path, sec, key);
			failed++;
			continue;
		}
		if (*def)
			snprintf(want, sizeof(want), "Default: \\fB%s\\fR", def);
		else
			snprintf(want, sizeof(want), "No default.");
		if (!memmem(entry, len, want, strlen(want))) {
			fprintf(stderr, "%s: [%s] %s: entry lacks \"%s\"\n", path, sec, key, want);
			failed++;
		}
		documented++;
	}
	/* The other way round: every documented key exists (counted by entries). */
	size_t entries = 0;
	for (const char *p = man; (p = strstr(p, "\n.TP\n\\fB")); p += 5)
		entries++;
	if (entries != documented) {
		fprintf(stderr, "%s: %zu keys documented, the table has %zu\n", path, entries,
			documented);
		failed++;
	}
	free(table);
	free(man);
	printf("%zu keys checked, %zu problems\n", documented, failed);
	return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s golden|example|shipped|manpage PATH\n", argv[0]);
		return 2;
	}
	setup_keys();
	if (STR_EQ(argv[1], "golden"))
		r = run_golden(argv[2]);
	else if (STR_EQ(argv[1], "example"))
		r = run_example(argv[2]);
	else if (STR_EQ(argv[1], "shipped"))
		r = run_shipped(argv[2]);
	else if (STR_EQ(argv[1], "manpage"))
		r = run_manpage(argv[2]);
	else
		r = 2;
	cleanup_keys();
	return r;
}
