// Package remote points application hosts at a region: it renders, parses and
// atomically writes ext_cloud.env, and restarts the application through
// supervisord XML-RPC (Supervisor). The SSM Run Command pusher for fleets is
// in the subpackage ssmpush, so that the host binary does not link the AWS SDK.
//
// Guarantees:
//   - ext_cloud.env is replaced by rename (temp file in the same folder, fsync,
//     rename, fsync of the folder), mode 0644, only when its content changes,
//     and never over a file with a newer EXT_CLOUD_GENERATION (fencing).
//   - It is written in the shell format (export lines the Python handler's
//     consumers source) or the plain one, and read in either, as is the
//     handler's own two-line file (generation 0 of its region). Files are
//     compared by meaning (cloud, region, generation): a same-meaning file in
//     another form is rewritten keeping its modification time, so it never
//     causes a restart.
//   - Programs restart in the handler's order: all stopped in reverse order,
//     then all started in order, each call waited for.
//   - A push is idempotent per generation: pushing the same Target again
//     leaves the same file and restarts only programs that have not been
//     (re)started since the file was written, judged by supervisord's start
//     time, to the second.
//   - Every XML-RPC call has the caller's deadline; a host that fails is
//     reported in Result.Failed, never hidden.
//
// Not guaranteed: two pushes of different generations to one supervisord at
// the same moment are not serialised here; callers (check.Run's claim on a
// pending push) make sure only one push of a generation is in flight.
package remote
