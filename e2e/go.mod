module github.com/mapx-dev/mapx/e2e

go 1.26
