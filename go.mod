module github.com/mapx-dev/mapx

go 1.26.0

require go.uber.org/goleak v1.3.0

require github.com/anishathalye/porcupine v1.3.1
