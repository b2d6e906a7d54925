module github.com/mapx-dev/mapx/e2e

go 1.26

require go.uber.org/goleak v1.3.0 // indirect
