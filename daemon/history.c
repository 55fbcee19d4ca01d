// SPDX-License-Identifier: GPL-2.0-or-later
/* The runner's history in the state directory: baseline and session digests. */
#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "daemon/context.h"
#include "daemon/log.h"
#include "daemon/mqtt-command.h"

static int read_state_file(const struct gk_daemon *d, const char *name, uint8_t *buf,
			   size_t cap, size_t *ret_len)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (state_path(d, name, "", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, cap);
	if (n < 0)
		return -errno;
	*ret_len = (size_t)n;
	return 0;
}

/*
 * A state file of text we wrote, NUL-terminated in buf (cap bytes): -ENOENT
 * when there is none, -EBADMSG when it is empty, does not fit (cap - 2
 * bytes at most) or holds a NUL.
 */
static int read_state_text(const struct gk_daemon *d, const char *name, char *buf, size_t cap,
			   size_t *ret_len)
{
	size_t len = 0;
	int r = read_state_file(d, name, (uint8_t *)buf, cap - 1, &len);

	if (r < 0)
		return r;
	if (len == 0 || len == cap - 1 || memchr(buf, 0, len))
		return -EBADMSG;
	buf[len] = 0;
	*ret_len = len;
	return 0;
}

/* Replace state_dir/name atomically and durably. */
static int write_state_file(const struct gk_daemon *d, const char *name, const uint8_t *buf,
			    size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	_cleanup_close_ int fd = -EBADF;
	int r = 0;

	if (state_path(d, name, "", path, sizeof(path)) < 0 ||
	    state_path(d, name, ".tmp", tmp, sizeof(tmp)) < 0)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t k = write(fd, buf, len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		buf += k;
		len -= (size_t)k;
	}
	if (fdatasync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	return r;
}

/* text (NULL: nothing to keep) as state_dir/name; what names it in a warning. */
static void save_state_text(const struct gk_daemon *d, const char *name, const char *text,
			    const char *what)
{
	int r;

	if (!text)
		return;
	r = write_state_file(d, name, (const uint8_t *)text, strlen(text));
	if (r < 0)
		log_warning_errno(r, "Failed to store %s, ignoring: %m", what);
}

void history_load_baseline(struct gk_daemon *d)
{
	uint8_t buf[FORM_BASELINE_SIZE * 2];
	struct form_baseline b;
	size_t len = 0;
	int r;

	r = read_state_file(d, "baseline", buf, sizeof(buf), &len);
	if (r == -ENOENT)
		return;
	if (r >= 0)
		r = form_baseline_load(buf, len, &b);
	if (r >= 0)
		r = form_engine_set_baseline(d->form, &b);
	if (r < 0)
		log_warning_errno(r, "Stored baseline not used, ignoring: %m");
	else
		log_info("Loaded the runner's baseline (%u steps)", b.steps);
}

void history_save_baseline(struct gk_daemon *d)
{
	uint8_t buf[FORM_BASELINE_SIZE];
	struct form_baseline b;
	size_t len;
	int r;

	if (form_engine_get_baseline(d->form, &b) < 0)
		return;
	r = form_baseline_save(&b, buf, sizeof(buf), &len);
	if (r >= 0)
		r = write_state_file(d, "baseline", buf, len);
	if (r < 0)
		log_warning_errno(r, "Failed to store the baseline, ignoring: %m");
}

/*
 * Digest history: state_dir/digests holds up to GK_DIGESTS_MAX records,
 * each a little-endian u32 length and form_digest_serialize() bytes,
 * oldest first. Returns how many were parsed into out.
 */
size_t history_load_digests(struct gk_daemon *d, struct form_digest *out, size_t cap)
{
	const size_t max = GK_DIGESTS_MAX * (FORM_DIGEST_SIZE + 4);
	_cleanup_free_ uint8_t *buf = malloc(max);
	size_t len = 0, n, skipped = 0;
	int r;

	if (!buf || read_state_file(d, "digests", buf, max, &len) < 0)
		return 0;
	/* one bad byte must not cost the sessions after it */
	n = form_digests_parse(buf, len, out, cap, &skipped);
	if (skipped) {
		/* the next store rewrites the file from what was read: keep it */
		r = write_state_file(d, "digests.damaged", buf, len);
		log_warning("Session history (digests) damaged: %zu record(s) read, %zu damaged "
			    "place(s) skipped; the file as it was is kept as digests.damaged%s",
			    n, skipped, r < 0 ? " (failed to write it)" : "");
	}
	return n;
}

/* Write all n digests to state_dir/digests (atomically replaced). */
static int write_digests(struct gk_daemon *d, const struct form_digest *all, size_t n)
{
	_cleanup_free_ uint8_t *buf = malloc(GK_DIGESTS_MAX * (FORM_DIGEST_SIZE + 4));
	size_t pos = 0;
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		size_t l;

		r = form_digest_serialize(&all[i], buf + pos + 4, FORM_DIGEST_SIZE, &l);
		if (r < 0)
			break;
		buf[pos] = l & 0xff;
		buf[pos + 1] = (l >> 8) & 0xff;
		buf[pos + 2] = (l >> 16) & 0xff;
		buf[pos + 3] = (l >> 24) & 0xff;
		pos += 4 + l;
	}
	return r < 0 ? r : write_state_file(d, "digests", buf, pos);
}

void history_store_digest(struct gk_daemon *d, const struct form_digest *digest,
			 struct form_digest *all, size_t *n)
{
	int r;

	if (*n >= GK_DIGESTS_MAX) {
		memmove(all, all + 1, (GK_DIGESTS_MAX - 1) * sizeof(*all));
		(*n)--;
	}
	all[(*n)++] = *digest;
	r = write_digests(d, all, *n);
	if (r < 0)
		log_warning_errno(r, "Failed to store the session digest, ignoring: %m");
}

/*
 * Pain reported between sessions belongs to the run before it ("my back
 * hurts since this morning's run"): add it to the last stored digest, marked
 * "after", when that session ended at most GK_PAIN_AFTER_MAX_S ago.
 * -ENOENT when there is no such session, -ENOSPC when its reports are full
 * of no milder ones.
 */
int history_add_pain_after(struct gk_daemon *d, unsigned level, const char *where)
{
	_cleanup_free_ struct form_digest *all = calloc(GK_DIGESTS_MAX, sizeof(*all));
	uint64_t now_s = epoch_ms() / 1000, end_s;
	struct form_digest *last;
	size_t n;
	int r;

	if (!all)
		return -ENOMEM;
	n = history_load_digests(d, all, GK_DIGESTS_MAX);
	if (n == 0)
		return -ENOENT;
	last = &all[n - 1];
	if (last->start_epoch_s == 0)
		return -ENOENT;		/* no wall clock then: cannot tell how long ago */
	end_s = last->start_epoch_s + last->duration_s;
	if (now_s < last->start_epoch_s || now_s > end_s + GK_PAIN_AFTER_MAX_S)
		return -ENOENT;
	r = form_digest_add_pain(last, (uint32_t)(now_s - last->start_epoch_s), level,
				 form_pain_site_from_text(where), true);
	if (r < 0)
		return r;
	return write_digests(d, all, n);
}

/*
 * The last summary's exact bytes (with its ts and seq), so GetSummary and
 * cmd/summary/republish still have it after a restart.
 */
void history_save_summary(struct gk_daemon *d)
{
	save_state_text(d, "last-summary.json", d->last_summary, "the last summary");
}

/* One JSON object in text, with nothing but white space after it; else NULL. */
static struct json_object *parse_one_object(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;
	size_t end = 0;

	if (!tok || len > INT_MAX)
		goto out;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object))
		goto bad;
	for (end = json_tokener_get_parse_end(tok); end < len; end++)
		if (!text[end] || !strchr(" \t\r\n", text[end]))
			goto bad;
	goto out;
bad:
	json_object_put(o);
	o = NULL;
out:
	if (tok)
		json_tokener_free(tok);
	return o;
}

void history_load_summary(struct gk_daemon *d)
{
	const size_t cap = GK_MQTT_PAYLOAD_MAX + 2;
	_cleanup_free_ char *buf = malloc(cap);
	struct json_object *o;
	size_t len = 0;
	int r;

	if (!buf)
		return;
	r = read_state_text(d, "last-summary.json", buf, cap, &len);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_warning_errno(r, "Stored last summary not used, ignoring: %m");
		return;
	}
	/* Written by us, but read back as outside input: must be one JSON object. */
	o = parse_one_object(buf, len);
	if (!o) {
		json_object_put(o);
		log_warning("Stored last summary is not one JSON object, ignoring");
		return;
	}
	json_object_put(o);
	free(d->last_summary);
	d->last_summary = strdup(buf);
}

int history_save_pain_where(struct gk_daemon *d)
{
	char line[sizeof(d->pain_where) + 1];
	int n = snprintf(line, sizeof(line), "%s\n", d->pain_where);

	return write_state_file(d, "pain-where", (const uint8_t *)line, (size_t)n);
}

void history_load_pain_where(struct gk_daemon *d)
{
	char buf[sizeof(d->pain_where) + 1] = "";
	size_t len = 0;
	int r;

	snprintf(d->pain_where, sizeof(d->pain_where), "other");
	r = read_state_file(d, "pain-where", (uint8_t *)buf, sizeof(buf) - 1, &len);
	if (r == -ENOENT)
		return;
	buf[len] = 0;
	if (len && buf[len - 1] == '\n')
		buf[--len] = 0;
	if (r < 0 || !mqtt_command_pain_location_valid(buf)) {
		log_warning_errno(r < 0 ? r : -EBADMSG, "Stored pain location not used, "
				  "'other' instead: %m");
		return;
	}
	/* valid, so it fits: the bound keeps gcc's truncation check quiet */
	snprintf(d->pain_where, sizeof(d->pain_where), "%.*s", (int)sizeof(d->pain_where) - 1,
		 buf);
}

/*
 * The last pain report's exact bytes (with its ts and seq), so pain/last is
 * the same after a restart. No file: there was no report, nothing to send.
 */
void history_save_pain_last(struct gk_daemon *d)
{
	save_state_text(d, "pain-last.json", d->pain_last, "the last pain report");
}

void history_load_pain_last(struct gk_daemon *d)
{
	char buf[256], *text = NULL;
	size_t len = 0;
	int r;

	r = read_state_text(d, "pain-last.json", buf, sizeof(buf), &len);
	if (r == -ENOENT)
		return;		/* no report yet: pain/last stays unknown */
	if (r >= 0)
		r = mqtt_command_pain_last_parse(buf, len, &text);
	if (r < 0) {
		log_warning_errno(r, "Stored last pain report not used, pain/last not published "
				  "until the next one: %m");
		return;
	}
	free(d->pain_last);
	d->pain_last = text;
}
