package doctor

import (
	"io/fs"

	"extcloud-failover/internal/remote"
)

// envFile is an env file as a test gives it: its region and generation, or
// why it could not be read.
type envFile struct {
	region, cloud string
	gen           int64
	err           error
}

func (e envFile) parsed() (remote.EnvFile, error) {
	return remote.EnvFile{Region: e.region, Cloud: e.cloud, Generation: e.gen}, e.err
}

func errNotExist() error { return fs.ErrNotExist }
