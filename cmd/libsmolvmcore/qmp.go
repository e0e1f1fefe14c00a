package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/smolvm/smolvm-core/qmp"
)

// jobPollInterval is how often wait_for_job polls query-jobs in case a
// JOB_STATUS_CHANGE event was missed. It matches the default poll_interval
// of the original module's wait_for_job.
const jobPollInterval = 100 * time.Millisecond

// lastStatusTimeout bounds the query-jobs call that fills in last_status
// after wait_for_job timed out.
const lastStatusTimeout = 2 * time.Second

// qmpSession is an open client and the socket it was opened on.
type qmpSession struct {
	client *qmp.Client
	socket string
}

// qmpSessions maps handles to open clients.
var qmpSessions handleTable[*qmpSession]

// seconds converts a timeout given in seconds, rejecting values that are
// not positive and finite.
func seconds(name string, s float64) (time.Duration, *errorInfo) {
	if math.IsNaN(s) || math.IsInf(s, 0) || s <= 0 || s > math.MaxInt64/float64(time.Second) {
		return 0, valueError("%s must be a positive number of seconds, got %v", name, s)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// qmpOpen connects to the QMP socket at socket and returns the handle of
// the new client. timeout bounds connecting, the greeting and capability
// negotiation together, and readTimeout bounds each later command.
func qmpOpen(socket string, timeout, readTimeout float64) (any, *errorInfo) {
	dialTimeout, errInfo := seconds("timeout", timeout)
	if errInfo != nil {
		return nil, errInfo
	}
	commandTimeout, errInfo := seconds("read_timeout", readTimeout)
	if errInfo != nil {
		return nil, errInfo
	}
	if socket == "" {
		return nil, valueError("socket_path must not be empty")
	}

	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	client, err := qmp.Dial(ctx, socket, &qmp.Options{
		DialTimeout:     dialTimeout,
		QueryTimeout:    commandTimeout,
		LongTimeout:     commandTimeout,
		JobPollInterval: jobPollInterval,
	})
	if err != nil {
		return nil, qmpError(socket, "", err)
	}
	return qmpSessions.add(&qmpSession{client: client, socket: socket}), nil
}

// qmpClose closes the client of handle. Closing a closed or unknown handle
// succeeds, so close may be called more than once.
func qmpClose(handle uint64) (any, *errorInfo) {
	if s, ok := qmpSessions.remove(handle); ok {
		// Close only reports why the session had already ended, which
		// does not matter once the caller is done with it.
		_ = s.client.Close()
	}
	return nil, nil
}

// session returns the open session of handle.
func session(handle uint64) (*qmpSession, *errorInfo) {
	if s, ok := qmpSessions.get(handle); ok {
		return s, nil
	}
	// The caller knows the socket path and adds it to the details.
	return nil, &errorInfo{Kind: kindQMP, Message: "QMP client is not connected", Details: map[string]any{}}
}

// qmpCall runs fn with the client of handle and maps its error. command
// names the QMP command in the error details.
func qmpCall(handle uint64, command string, fn func(ctx context.Context, c *qmp.Client) (any, error)) (any, *errorInfo) {
	s, errInfo := session(handle)
	if errInfo != nil {
		return nil, errInfo
	}
	value, err := fn(context.Background(), s.client)
	if err != nil {
		return nil, qmpError(s.socket, command, err)
	}
	return value, nil
}

// qmpExecute runs command. args is a JSON object, or empty for none. The
// result is QEMU's "return" value, passed through undecoded.
func qmpExecute(handle uint64, command, args string) (any, *errorInfo) {
	if command == "" {
		return nil, valueError("command must not be empty")
	}
	var rawArgs json.RawMessage
	if args != "" {
		rawArgs = json.RawMessage(args)
	}
	return qmpCall(handle, command, func(ctx context.Context, c *qmp.Client) (any, error) {
		ret, err := c.Execute(ctx, command, rawArgs)
		if err != nil {
			return nil, err
		}
		return ret, nil
	})
}

func qmpQueryStatus(handle uint64) (any, *errorInfo) {
	return qmpCall(handle, "query-status", func(ctx context.Context, c *qmp.Client) (any, error) {
		s, err := c.QueryStatus(ctx)
		if err != nil {
			return nil, err
		}
		return s.Raw, nil
	})
}

func qmpQueryVersion(handle uint64) (any, *errorInfo) {
	return qmpCall(handle, "query-version", func(ctx context.Context, c *qmp.Client) (any, error) {
		v, err := c.QueryVersion(ctx)
		if err != nil {
			return nil, err
		}
		return v.Raw, nil
	})
}

func qmpStop(handle uint64) (any, *errorInfo) {
	return qmpCall(handle, "stop", func(ctx context.Context, c *qmp.Client) (any, error) {
		return nil, c.Stop(ctx)
	})
}

func qmpCont(handle uint64) (any, *errorInfo) {
	return qmpCall(handle, "cont", func(ctx context.Context, c *qmp.Client) (any, error) {
		return nil, c.Cont(ctx)
	})
}

func qmpBlockdevSnapshotInternalSync(handle uint64, device, name string) (any, *errorInfo) {
	return qmpCall(handle, "blockdev-snapshot-internal-sync", func(ctx context.Context, c *qmp.Client) (any, error) {
		return nil, c.BlockdevSnapshotInternalSync(ctx, device, name)
	})
}

func qmpBlockdevSnapshotDeleteInternalSync(handle uint64, device, name string) (any, *errorInfo) {
	return qmpCall(handle, "blockdev-snapshot-delete-internal-sync", func(ctx context.Context, c *qmp.Client) (any, error) {
		_, err := c.BlockdevSnapshotDeleteInternalSync(ctx, device, name)
		return nil, err
	})
}

// jobRecord is a job in the form of the Python QMPJob dataclass.
type jobRecord struct {
	JobID           string  `json:"job_id"`
	JobType         string  `json:"job_type"`
	Status          string  `json:"status"`
	CurrentProgress int64   `json:"current_progress"`
	TotalProgress   int64   `json:"total_progress"`
	Error           *string `json:"error"`
}

func newJobRecord(j qmp.JobInfo) jobRecord {
	r := jobRecord{
		JobID:           j.ID,
		JobType:         j.Type,
		Status:          j.Status,
		CurrentProgress: j.CurrentProgress,
		TotalProgress:   j.TotalProgress,
	}
	if j.Error != "" {
		r.Error = &j.Error
	}
	return r
}

func qmpQueryJobs(handle uint64) (any, *errorInfo) {
	return qmpCall(handle, "query-jobs", func(ctx context.Context, c *qmp.Client) (any, error) {
		jobs, err := c.QueryJobs(ctx)
		if err != nil {
			return nil, err
		}
		records := make([]jobRecord, 0, len(jobs))
		for _, j := range jobs {
			records = append(records, newJobRecord(j))
		}
		return records, nil
	})
}

func qmpDismissJob(handle uint64, jobID string) (any, *errorInfo) {
	if jobID == "" {
		return nil, valueError("job_id must not be empty")
	}
	return qmpCall(handle, "job-dismiss", func(ctx context.Context, c *qmp.Client) (any, error) {
		return nil, c.JobDismiss(ctx, jobID)
	})
}

// qmpWaitJob waits up to timeout seconds for the job to conclude, with
// qmp.Client.WaitJob, which dismisses it. A job that concluded with an
// error is returned as a QMP error with the job's details.
func qmpWaitJob(handle uint64, jobID string, timeout float64) (any, *errorInfo) {
	wait, errInfo := seconds("timeout", timeout)
	if errInfo != nil {
		return nil, errInfo
	}
	if jobID == "" {
		return nil, valueError("job_id must not be empty")
	}
	s, errInfo := session(handle)
	if errInfo != nil {
		return nil, errInfo
	}

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	job, err := s.client.WaitJob(ctx, jobID)
	if err == nil {
		return newJobRecord(job), nil
	}
	errInfo = qmpError(s.socket, "", err)
	// The error can come from the write deadline of a command, which is
	// ctx's deadline but may fire before ctx's own timer, so ctx.Err()
	// alone would miss it.
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		last := lastJobStatus(s.client, jobID)
		errInfo.Details["job_id"] = jobID
		errInfo.Details["last_status"] = last
		errInfo.Message = fmt.Sprintf("qmp job %s on %s: did not conclude within %v (last status %v): %v",
			jobID, s.socket, wait, orNone(last), err)
	}
	return nil, errInfo
}

// orNone returns v, or "none" for nil, for messages.
func orNone(v any) any {
	if v == nil {
		return "none"
	}
	return v
}

// lastJobStatus returns the job's status from query-jobs, or nil when QEMU
// does not list it or does not reply in time.
func lastJobStatus(c *qmp.Client, jobID string) any {
	ctx, cancel := context.WithTimeout(context.Background(), lastStatusTimeout)
	defer cancel()
	jobs, err := c.QueryJobs(ctx)
	if err != nil {
		return nil
	}
	for _, j := range jobs {
		if j.ID == jobID {
			return j.Status
		}
	}
	return nil
}
