package main

import (
	"errors"

	"github.com/smolvm/smolvm-core/qmp"
)

// qmpError maps an error of the qmp package to the QMPError of the
// original module: the Go error text as the message, and details with the
// keys that callers branch on.
//
//   - QEMU rejected a command: command, class and desc.
//   - A job concluded with an error: job_id, job_type, status and error.
//   - A job that QEMU does not list: job_id and a last_status of None, as
//     the original reported for a job it never saw conclude.
//   - Anything else: command when one was running.
//
// socket_path is always set.
func qmpError(socket, command string, err error) *errorInfo {
	details := map[string]any{"socket_path": socket}
	var (
		cmdErr *qmp.Error
		jobErr *qmp.JobError
	)
	switch {
	case errors.As(err, &cmdErr):
		details["command"] = cmdErr.Command
		details["class"] = cmdErr.Class
		details["desc"] = cmdErr.Desc
	case errors.As(err, &jobErr) && errors.Is(err, qmp.ErrJobFailed):
		details["job_id"] = jobErr.ID
		details["job_type"] = jobErr.Type
		details["status"] = jobErr.Status
		details["error"] = jobErr.Desc
	case errors.As(err, &jobErr):
		details["job_id"] = jobErr.ID
		details["last_status"] = nil
	case command != "":
		details["command"] = command
	}
	return &errorInfo{Kind: kindQMP, Message: err.Error(), Details: details}
}
