// Package stack proves the docker-compose stack without a Docker engine: its
// tests load docker-compose.yml with compose-go (the library docker compose
// itself uses), check that every service is there with a pinned image, that
// every mounted file exists, that published ports do not clash and bind
// 127.0.0.1 only, and that Grafana has no default password; and they run the
// real tools on the configs the stack mounts (promtool check config on the
// Prometheus config with the mapx rules, amtool check-config on the
// Alertmanager config).
package stack
