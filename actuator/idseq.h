/* idseq.h -- decision ids that stay unique across restarts of the daemon.
 *
 * A planner numbers its decisions 1, 2, ... from its creation, so after a restart the
 * ids of the previous life come again; a consumer of `<prefix>/<set>/decision` and
 * `result`, or the journal, must never see one id for two decisions. An act_idseq hands
 * out ids from a counter persisted in blocks, as a database sequence does: the file
 * holds a high-water mark; ids below it are handed out from memory, and reaching it
 * writes mark + block first (temporary file, fsync, rename). A restart continues at the
 * mark, so at most `block` ids are skipped, none reused, and the file is written once
 * per block rather than once per decision.
 *
 * File: "foresight-ids 1\nnext <id>\n". A file that does not parse is an error
 * (ACT_ECORRUPT) and left as it was. Threads: one at a time.
 */
#ifndef ACTUATOR_IDSEQ_H
#define ACTUATOR_IDSEQ_H

#include <stdint.h>

#include "actuator/actuator.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct act_idseq act_idseq;

/* Opens the counter at `path` (NULL: in memory, from 1) handing out ids in blocks of
 * `block` (> 0) per write. A missing file starts at 1. NULL and err on failure. */
act_idseq *act_idseq_open(const char *path, uint64_t block, act_error *err);
void act_idseq_destroy(act_idseq *q); /* NULL is fine */

/* Writes the next id (> 0, never given before) to *id; ACT_EIO when the block could
 * not be reserved on disk (then no id is given). */
int act_idseq_next(act_idseq *q, uint64_t *id, act_error *err);

#ifdef __cplusplus
}
#endif

#endif /* ACTUATOR_IDSEQ_H */
