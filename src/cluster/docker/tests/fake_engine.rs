//! A fake Docker engine for unit tests: the slice of the Engine API the docker runtime uses,
//! served over HTTP/1.1 on 127.0.0.1 with in-memory images, networks, volumes and containers.
//! It lets bollard and the runtime's own logic (labels, reuse or recreate, stop order, clean,
//! error mapping) run for real where no engine exists. It does not run anything.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A container the fake knows.
#[derive(Debug, Clone)]
pub(crate) struct FakeContainer {
    /// Engine id.
    pub id: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Running or not.
    pub running: bool,
    /// Host ports it publishes.
    pub ports: Vec<u16>,
    /// The create body as received.
    pub body: Value,
}

/// What the fake holds; tests read and arrange it.
#[derive(Debug, Default)]
pub(crate) struct FakeState {
    /// Images present (`repo:tag`).
    pub images: BTreeSet<String>,
    /// When set, every pull fails with this message in the progress stream.
    pub pull_error: Option<String>,
    /// When set, starting a container fails as if this host port were allocated.
    pub port_allocated: Option<u16>,
    /// Containers by name.
    pub containers: BTreeMap<String, FakeContainer>,
    /// Volumes by name, with labels.
    pub volumes: BTreeMap<String, BTreeMap<String, String>>,
    /// Networks by name, with labels.
    pub networks: BTreeMap<String, BTreeMap<String, String>>,
    /// Every request as `METHOD path` (version prefix and query stripped), in order.
    pub requests: Vec<String>,
    next_id: u64,
}

/// A running fake engine.
pub(crate) struct FakeEngine {
    /// `tcp://127.0.0.1:PORT`, for `Engine::connect_to`.
    pub host: String,
    state: Arc<Mutex<FakeState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeEngine {
    /// Starts the fake on a free port.
    pub(crate) async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake engine");
        let host = format!("tcp://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(FakeState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Self { host, state, task }
    }

    /// The fake's state.
    pub(crate) fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().expect("fake state")
}

/// Serves requests on one connection until the client closes it.
async fn serve(mut stream: TcpStream, state: Arc<Mutex<FakeState>>) {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let length = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Value =
            serde_json::from_slice(&buf[head_end..head_end + length]).unwrap_or(Value::Null);
        buf.drain(..head_end + length);
        let mut parts = head.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let (status, content_type, payload) = route(&state, &method, &target, &body);
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            304 => "Not Modified",
            404 => "Not Found",
            409 => "Conflict",
            _ => "Error",
        };
        let mut response = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            payload.len()
        )
        .into_bytes();
        response.extend_from_slice(&payload);
        if stream.write_all(&response).await.is_err() {
            return;
        }
    }
}

type Reply = (u16, &'static str, Vec<u8>);

fn json_reply(status: u16, v: Value) -> Reply {
    (status, "application/json", v.to_string().into_bytes())
}

fn error(status: u16, message: &str) -> Reply {
    json_reply(status, json!({ "message": message }))
}

fn empty(status: u16) -> Reply {
    (status, "application/json", Vec::new())
}

fn query_param(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Label filters (`{"label":["k=v"]}`) of a list request.
fn label_filters(query: &str) -> Vec<(String, String)> {
    let Some(f) = query_param(query, "filters") else {
        return Vec::new();
    };
    let parsed: BTreeMap<String, Vec<String>> = serde_json::from_str(&f).unwrap_or_default();
    parsed
        .get("label")
        .into_iter()
        .flatten()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn matches(labels: &BTreeMap<String, String>, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn labels_of(v: &Value) -> BTreeMap<String, String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn route(state: &Mutex<FakeState>, method: &str, target: &str, body: &Value) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    // Strip the API version prefix (`/v1.47/...`).
    let path = match path
        .strip_prefix("/v")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((version, rest)) if version.chars().all(|c| c.is_ascii_digit() || c == '.') => {
            &path[path.len() - rest.len() - 1..]
        }
        _ => path,
    };
    let path = url::form_urlencoded::parse(format!("p={path}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| path.to_string());
    let mut s = lock(state);
    s.requests.push(format!("{method} {path}"));
    let seg: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, seg.as_slice()) {
        ("GET", ["_ping"]) => (200, "text/plain", b"OK".to_vec()),
        // Debian 12's engine: bollard must negotiate down to its API version.
        ("GET", ["version"]) => json_reply(
            200,
            json!({ "Version": "20.10.24", "ApiVersion": "1.41", "MinAPIVersion": "1.12" }),
        ),
        ("GET", ["info"]) => json_reply(200, json!({ "OperatingSystem": "Fake Linux" })),
        ("GET", ["networks", "bridge"]) => json_reply(
            200,
            json!({ "Name": "bridge", "IPAM": { "Config": [{ "Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1" }] } }),
        ),
        ("GET", ["images", rest @ ..]) if rest.last() == Some(&"json") => {
            let image = rest[..rest.len() - 1].join("/");
            if s.images.contains(&image) {
                json_reply(200, json!({ "Id": format!("sha256:{image}") }))
            } else {
                error(404, &format!("No such image: {image}"))
            }
        }
        ("POST", ["images", "create"]) => {
            let image = format!(
                "{}:{}",
                query_param(query, "fromImage").unwrap_or_default(),
                query_param(query, "tag").unwrap_or_default()
            );
            let mut lines = vec![json!({ "status": format!("Pulling from {image}") })];
            if let Some(message) = s.pull_error.clone() {
                lines.push(json!({ "errorDetail": { "message": message }, "error": message }));
            } else {
                for (cur, total) in [(100, 1000), (1000, 1000)] {
                    lines.push(json!({
                        "status": "Downloading", "id": "layer1",
                        "progressDetail": { "current": cur, "total": total }
                    }));
                }
                lines.push(json!({ "status": "Download complete", "id": "layer1" }));
                s.images.insert(image);
            }
            let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
            (200, "application/json", text.into_bytes())
        }
        ("GET", ["networks"]) => {
            let f = label_filters(query);
            let list: Vec<Value> = s
                .networks
                .iter()
                .filter(|(_, l)| matches(l, &f))
                .map(|(n, l)| json!({ "Name": n, "Labels": l }))
                .collect();
            json_reply(200, Value::Array(list))
        }
        ("POST", ["networks", "create"]) => {
            let name = body["Name"].as_str().unwrap_or_default().to_string();
            if s.networks.contains_key(&name) {
                return error(409, &format!("network with name {name} already exists"));
            }
            s.networks.insert(name.clone(), labels_of(&body["Labels"]));
            json_reply(201, json!({ "Id": name, "Warning": "" }))
        }
        ("GET", ["networks", name]) => match s.networks.get(*name) {
            Some(l) => json_reply(200, json!({ "Name": name, "Labels": l })),
            None => error(404, &format!("network {name} not found")),
        },
        ("DELETE", ["networks", name]) => match s.networks.remove(*name) {
            Some(_) => empty(204),
            None => error(404, "no such network"),
        },
        ("GET", ["volumes"]) => {
            let f = label_filters(query);
            let list: Vec<Value> = s
                .volumes
                .iter()
                .filter(|(_, l)| matches(l, &f))
                .map(|(n, l)| volume_json(n, l))
                .collect();
            json_reply(200, json!({ "Volumes": list, "Warnings": [] }))
        }
        ("POST", ["volumes", "create"]) => {
            let name = body["Name"].as_str().unwrap_or_default().to_string();
            let labels = labels_of(&body["Labels"]);
            s.volumes.insert(name.clone(), labels.clone());
            json_reply(201, volume_json(&name, &labels))
        }
        ("GET", ["volumes", name]) => match s.volumes.get(*name) {
            Some(l) => json_reply(200, volume_json(name, l)),
            None => error(404, "no such volume"),
        },
        ("DELETE", ["volumes", name]) => match s.volumes.remove(*name) {
            Some(_) => empty(204),
            None => error(404, "no such volume"),
        },
        ("GET", ["containers", "json"]) => {
            let f = label_filters(query);
            let all = query_param(query, "all").as_deref() == Some("true");
            let list: Vec<Value> = s
                .containers
                .iter()
                .filter(|(_, c)| matches(&c.labels, &f) && (all || c.running))
                .map(|(n, c)| {
                    json!({
                        "Id": c.id, "Names": [format!("/{n}")], "Labels": c.labels,
                        "State": if c.running { "running" } else { "exited" },
                        "Ports": c.ports.iter().map(|p| json!({
                            "IP": "127.0.0.1", "PrivatePort": p, "PublicPort": p, "Type": "tcp"
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json_reply(200, Value::Array(list))
        }
        ("POST", ["containers", "create"]) => {
            let name = query_param(query, "name").unwrap_or_default();
            if s.containers.contains_key(&name) {
                return error(
                    409,
                    &format!("Conflict. The container name \"/{name}\" is already in use"),
                );
            }
            let image = body["Image"].as_str().unwrap_or_default();
            if !s.images.contains(image) {
                return error(404, &format!("No such image: {image}"));
            }
            s.next_id += 1;
            let id = format!("c{}", s.next_id);
            let ports = body["HostConfig"]["PortBindings"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.values())
                .filter_map(|b| b[0]["HostPort"].as_str()?.parse().ok())
                .collect();
            s.containers.insert(
                name,
                FakeContainer {
                    id: id.clone(),
                    labels: labels_of(&body["Labels"]),
                    running: false,
                    ports,
                    body: body.clone(),
                },
            );
            json_reply(201, json!({ "Id": id, "Warnings": [] }))
        }
        (_, ["containers", key, rest @ ..]) => {
            let Some(name) = s
                .containers
                .iter()
                .find(|(n, c)| n.as_str() == *key || c.id == *key)
                .map(|(n, _)| n.clone())
            else {
                return error(404, &format!("No such container: {key}"));
            };
            let port_allocated = s.port_allocated;
            let Some(c) = s.containers.get_mut(&name) else {
                return error(404, "gone");
            };
            match (method, rest) {
                ("GET", ["json"]) => json_reply(
                    200,
                    json!({
                        "Id": c.id, "Name": format!("/{name}"),
                        "State": { "Running": c.running, "Pid": if c.running { 4242 } else { 0 }, "ExitCode": 0 },
                        "Config": { "Labels": c.labels },
                    }),
                ),
                ("POST", ["start"]) => match port_allocated {
                    Some(p) if c.ports.contains(&p) => error(
                        500,
                        &format!(
                            "driver failed programming external connectivity on endpoint {name}: Bind for 127.0.0.1:{p} failed: port is already allocated"
                        ),
                    ),
                    _ if c.running => empty(304),
                    _ => {
                        c.running = true;
                        empty(204)
                    }
                },
                ("POST", ["stop"]) | ("POST", ["kill"]) => {
                    if c.running {
                        c.running = false;
                        empty(204)
                    } else {
                        empty(304)
                    }
                }
                ("GET", ["logs"]) => {
                    // The multiplexed stream format: 8-byte header (stream 1 = stdout), payload.
                    let line = format!("log line of {name}\n");
                    let mut framed = vec![1u8, 0, 0, 0];
                    framed.extend_from_slice(&u32::try_from(line.len()).unwrap_or(0).to_be_bytes());
                    framed.extend_from_slice(line.as_bytes());
                    (200, "application/vnd.docker.raw-stream", framed)
                }
                ("DELETE", []) => {
                    s.containers.remove(&name);
                    empty(204)
                }
                _ => error(500, &format!("fake engine: unsupported {method} {path}")),
            }
        }
        _ => error(500, &format!("fake engine: unsupported {method} {path}")),
    }
}

fn volume_json(name: &str, labels: &BTreeMap<String, String>) -> Value {
    json!({
        "Name": name, "Driver": "local", "Mountpoint": format!("/var/lib/docker/volumes/{name}"),
        "Labels": labels, "Options": {}, "Scope": "local"
    })
}
