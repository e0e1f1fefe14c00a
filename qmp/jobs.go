package qmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Job statuses from QEMU's JobStatus. Only JobConcluded and JobNull are
// terminal: every other status, including aborting, waiting and pending,
// is followed by another one.
const (
	JobConcluded = "concluded"
	// JobNull is the status QEMU reports in JOB_STATUS_CHANGE after a job
	// was dismissed and has gone.
	JobNull = "null"
)

// JobInfo is one job from query-jobs.
type JobInfo struct {
	// ID is the job id.
	ID string `json:"id"`
	// Type is the job type, such as "snapshot-save" or "backup".
	Type string `json:"type"`
	// Status is the job status, such as "running" or "concluded".
	Status string `json:"status"`
	// CurrentProgress and TotalProgress are in units chosen by the job
	// type, bytes for block jobs.
	CurrentProgress int64 `json:"current-progress"`
	TotalProgress   int64 `json:"total-progress"`
	// Error is QEMU's error text for a job that concluded with an error.
	Error string `json:"error"`
	// Raw is the undecoded job object.
	Raw json.RawMessage `json:"-"`
}

// UnmarshalJSON decodes the job leniently and keeps the raw object.
func (j *JobInfo) UnmarshalJSON(b []byte) error {
	type plain JobInfo
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*j = JobInfo(p)
	j.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// QueryJobs returns every job that QEMU lists (query-jobs).
func (c *Client) QueryJobs(ctx context.Context) ([]JobInfo, error) {
	var jobs []JobInfo
	if err := c.executeInto(ctx, "query-jobs", nil, &jobs); err != nil {
		return nil, err
	}
	return jobs, nil
}

// JobDismiss removes a concluded job (job-dismiss).
func (c *Client) JobDismiss(ctx context.Context, id string) error {
	if err := checkJobID("job-dismiss", id); err != nil {
		return err
	}
	_, err := c.Execute(ctx, "job-dismiss", map[string]string{"id": id})
	return err
}

// JobCancel requests the cancellation of a job (job-cancel). The job goes
// on through aborting to concluded, so wait for it with WaitJob, which
// also dismisses it.
func (c *Client) JobCancel(ctx context.Context, id string) error {
	if err := checkJobID("job-cancel", id); err != nil {
		return err
	}
	_, err := c.Execute(ctx, "job-cancel", map[string]string{"id": id})
	return err
}

func checkJobID(command, id string) error {
	if id == "" {
		return fmt.Errorf("qmp %s: invalid job id: empty", command)
	}
	return nil
}

// newJobID returns a job id unique to this call. The random part keeps ids
// from different clients of the same QEMU apart.
func (c *Client) newJobID(command string) string {
	return "smolvm-" + command + "-" + c.jobPrefix + "-" + strconv.FormatUint(c.nextSeq.Add(1), 10)
}

func randomHex(n int) string {
	b := make([]byte, n)
	// crypto/rand.Read never returns an error on Linux.
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// WaitJob waits until the job with the given id concludes, dismisses it,
// and returns its final state. It follows JOB_STATUS_CHANGE events and
// polls query-jobs every Options.JobPollInterval in case an event was
// missed.
//
// It returns a *JobError matching ErrJobNotFound at once when QEMU does
// not list the job, and one matching ErrJobFailed when the job concluded
// with an error. A concluded job is always dismissed, failed or not.
// Start jobs with auto-dismiss off, because a job that dismisses itself
// vanishes before its result can be read and WaitJob then reports
// ErrJobNotFound. A job started with auto-finalize off stays pending, so
// WaitJob then returns only when ctx ends.
func (c *Client) WaitJob(ctx context.Context, id string) (JobInfo, error) {
	if err := checkJobID("job wait", id); err != nil {
		return JobInfo{}, err
	}
	sub, err := c.subscribeJob(id)
	if err != nil {
		return JobInfo{}, err
	}
	defer sub.Close()
	return c.waitJob(ctx, id, sub)
}

func (c *Client) subscribeJob(id string) (*Subscription, error) {
	return c.Subscribe(EventFilter{Names: []string{"JOB_STATUS_CHANGE"}, Data: map[string]any{"id": id}})
}

func (c *Client) waitJob(ctx context.Context, id string, sub *Subscription) (JobInfo, error) {
	// A nil channel never fires, so a negative interval turns polling off.
	var poll <-chan time.Time
	if c.opts.JobPollInterval > 0 {
		ticker := time.NewTicker(c.opts.JobPollInterval)
		defer ticker.Stop()
		poll = ticker.C
	}

	for {
		job, err := c.findJob(ctx, id)
		if err != nil {
			return JobInfo{}, err
		}
		if job.Status == JobConcluded {
			return c.finishJob(ctx, job)
		}

		if err := c.awaitJobChange(ctx, id, sub, poll); err != nil {
			return JobInfo{}, err
		}
	}
}

// awaitJobChange returns when the job reached a terminal status by its
// events or when the poll interval passed, whichever is first.
func (c *Client) awaitJobChange(ctx context.Context, id string, sub *Subscription, poll <-chan time.Time) error {
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				return c.callError("job wait", c.sessionEnd())
			}
			var data struct {
				Status string `json:"status"`
			}
			if json.Unmarshal(ev.Data, &data) != nil {
				continue
			}
			if data.Status == JobConcluded || data.Status == JobNull {
				return nil
			}
		case <-poll:
			return nil
		case <-ctx.Done():
			return c.callError("job wait", fmt.Errorf("job %s: %w", id, contextError(ctx.Err())))
		}
	}
}

// sessionEnd returns why the session ended, or ErrClosed when the
// subscription was closed with the client still up.
func (c *Client) sessionEnd() error {
	if err := c.Err(); err != nil {
		return err
	}
	return ErrClosed
}

// findJob returns the job with the given id from query-jobs, or a
// *JobError matching ErrJobNotFound.
func (c *Client) findJob(ctx context.Context, id string) (JobInfo, error) {
	jobs, err := c.QueryJobs(ctx)
	if err != nil {
		return JobInfo{}, err
	}
	for _, j := range jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return JobInfo{}, &JobError{ID: id, Socket: c.socket, err: ErrJobNotFound}
}

// finishJob dismisses a concluded job and reports its error, if any.
func (c *Client) finishJob(ctx context.Context, job JobInfo) (JobInfo, error) {
	dismissErr := c.JobDismiss(ctx, job.ID)
	if job.Error != "" {
		jerr := &JobError{ID: job.ID, Type: job.Type, Status: job.Status, Desc: job.Error, Socket: c.socket, err: ErrJobFailed}
		if dismissErr != nil {
			return job, errors.Join(jerr, dismissErr)
		}
		return job, jerr
	}
	return job, dismissErr
}

// runJob starts a job with command and waits for it. It subscribes before
// sending, so no status change is missed. If ctx ends first, QEMU may still
// run the job, so the error names the job id for a later WaitJob, which
// waits for it and dismisses it.
func (c *Client) runJob(ctx context.Context, command, jobID string, args map[string]any) (JobInfo, error) {
	if jobID == "" {
		jobID = c.newJobID(command)
	}
	args["job-id"] = jobID

	sub, err := c.subscribeJob(jobID)
	if err != nil {
		return JobInfo{}, err
	}
	defer sub.Close()

	if _, err := c.Execute(ctx, command, args); err != nil {
		return JobInfo{}, jobLeftError(jobID, err)
	}
	job, err := c.waitJob(ctx, jobID, sub)
	return job, jobLeftError(jobID, err)
}

// jobLeftError adds the job id to an error caused by the end of the
// caller's context, since the job may go on in QEMU without a waiter.
func jobLeftError(id string, err error) error {
	if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w (job %s may still run in qemu: WaitJob waits for it and dismisses it)", err, id)
}

// SnapshotArgs are the arguments of SnapshotSave, SnapshotLoad and
// SnapshotDelete.
type SnapshotArgs struct {
	// JobID is the id of the job; empty means a generated unique id.
	JobID string
	// Tag is the snapshot name.
	Tag string
	// VMState is the node name of the block device that holds the VM
	// state. SnapshotDelete ignores it.
	VMState string
	// Devices lists the node names of the block devices to snapshot,
	// usually the writable qcow2 nodes.
	Devices []string
}

// SnapshotSave saves the VM state and an internal snapshot of each device
// with the snapshot-save job, waits for the job and dismisses it. QEMU
// pauses the VM while it saves. QEMU accepts a bad device name and reports
// it only in the job, as a *JobError matching ErrJobFailed. If ctx ends
// before the job concludes, the job goes on in QEMU and the error names its
// id. Pass that id to WaitJob to wait for the job and dismiss it. The same holds
// for SnapshotLoad, SnapshotDelete and BlockdevBackup.
func (c *Client) SnapshotSave(ctx context.Context, a SnapshotArgs) (JobInfo, error) {
	return c.runJob(ctx, "snapshot-save", a.JobID, map[string]any{
		"tag": a.Tag, "vmstate": a.VMState, "devices": nonNil(a.Devices),
	})
}

// SnapshotLoad restores the VM state and devices from a snapshot with the
// snapshot-load job and waits for the job.
func (c *Client) SnapshotLoad(ctx context.Context, a SnapshotArgs) (JobInfo, error) {
	return c.runJob(ctx, "snapshot-load", a.JobID, map[string]any{
		"tag": a.Tag, "vmstate": a.VMState, "devices": nonNil(a.Devices),
	})
}

// SnapshotDelete deletes a snapshot from the devices with the
// snapshot-delete job and waits for the job. QEMU 7.2 concludes the job
// without an error when no device has the snapshot.
func (c *Client) SnapshotDelete(ctx context.Context, a SnapshotArgs) (JobInfo, error) {
	return c.runJob(ctx, "snapshot-delete", a.JobID, map[string]any{
		"tag": a.Tag, "devices": nonNil(a.Devices),
	})
}

// nonNil turns a nil list into an empty one, because QEMU rejects a
// "devices" of null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
