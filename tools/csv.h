/* csv.h -- a small line-oriented CSV reader shared by the trace loader (trace.c) and
 * the bench programs.
 *
 * Comma separated, one record per line (LF or CRLF), fields may be quoted with '"' and a
 * doubled quote inside a quoted field stands for one quote. A quoted field cannot span
 * lines. Empty lines are skipped, like pandas.read_csv does. The reader never prints:
 * errors come back as "FILE:LINE:COL: what" in the caller's buffer.
 *
 * One reader, one thread at a time.
 */
#ifndef TOOLS_CSV_H
#define TOOLS_CSV_H

#include <stdio.h>

typedef struct csv_reader csv_reader;

/* Opens `path` (borrowed; must stay valid until csv_close). Returns NULL with err
 * filled on failure. */
csv_reader *csv_open(const char *path, char *err, size_t err_len);
void csv_close(csv_reader *r); /* NULL is fine */

/* Reads the next non-empty record: 1 on success, 0 at end of file, -1 with err filled
 * (I/O error, unterminated quote, text after a closing quote, NUL byte, no memory). */
int csv_next(csv_reader *r, char *err, size_t err_len);

/* Fields of the current record, valid until the next csv_next/csv_close. */
int csv_n_fields(const csv_reader *r);
const char *csv_field(const csv_reader *r, int i);
long csv_line(const csv_reader *r); /* 1-based line number of the current record */
const char *csv_path(const csv_reader *r);

/* Index of the field equal to `name` in the current record (the header), or -1. */
int csv_find(const csv_reader *r, const char *name);

/* Parses a whole cell as a number with strtod, blanks around it allowed. An empty
 * (or all-blank) cell gives NaN and returns 0; a valid number returns 0; anything
 * else (trailing text, overflow) returns -1 and leaves *out unchanged. "nan" and "inf"
 * are accepted here; callers that need finite values check. */
int csv_number(const char *cell, double *out);

/* Writes `s` as one CSV field, quoted only when it holds ',', '"', CR or LF. */
int csv_put_field(FILE *fp, const char *s);

#endif /* TOOLS_CSV_H */
