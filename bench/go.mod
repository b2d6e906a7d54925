module github.com/mapx-dev/mapx/bench

go 1.26

require github.com/mapx-dev/mapx v0.0.0

require github.com/puzpuzpuz/xsync/v4 v4.5.0

replace github.com/mapx-dev/mapx => ../
