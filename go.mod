module github.com/mapx-dev/mapx

go 1.26
