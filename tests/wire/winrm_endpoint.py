# Test double: never shipped (galaxy.yml build_ignore keeps tests/ out).
"""A loopback WS-Management (WinRS) endpoint in front of the simulated Windows host.

It speaks the subset of MS-WSMV that pywinrm and ansible-core's `winrm` connection plugin use:
Create (a shell), Command, Send (stdin), Receive (streams, exit code, command state), Signal and
Delete, with WS-Man's SOAP fault shapes. Commands reach the same simulated host as the connection
double (tests/simulated/wcow_sim), with host state in the same WCOW_SIM_STATE_DIR JSON files.

Authentication as a Windows listener: Basic (only accepted over HTTPS, as WinRM's default
AllowUnencrypted=false demands) and NTLM (Negotiate) with MS-WSMV 2.2.9.1.1 message encryption,
whose acceptor is pyspnego reading NTLM_USER_FILE. Kerberos and CredSSP are not modelled.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import http.server
import json
import os
import pathlib
import socket
import ssl
import struct
import sys
import threading
import time
import typing as t
import uuid
import xml.etree.ElementTree as ET

import spnego

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "simulated"))

from wcow_sim import dispatch  # noqa: E402
from wcow_sim.host import ConnectionDropped, Host  # noqa: E402
from wcow_sim.state import StateStore  # noqa: E402

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = SHELL_URI + "/Command"
ACTION_SEND = SHELL_URI + "/Send"
ACTION_RECEIVE = SHELL_URI + "/Receive"
ACTION_SIGNAL = SHELL_URI + "/Signal"
STATE_DONE = SHELL_URI + "/CommandState/Done"
STATE_RUNNING = SHELL_URI + "/CommandState/Running"

# winrm get winrm/config: MaxEnvelopeSizekb = 500 (the default on every supported Windows).
MAX_ENVELOPE_BYTES = 500 * 1024
# WinRS starts commands through cmd.exe (`winrs -r:host dir` runs the cmd built-in), and cmd.exe
# refuses a command line over 8191 characters (Microsoft Learn, "Command prompt (Cmd.exe)
# command-line string limitation"): it prints "The command line is too long." and exits 1.
MAX_COMMAND_LINE = 8191
# WSManFault codes (winerror.h, ERROR_WSMAN_*) as the real service answers them.
FAULT_TIMED_OUT = 2150858793            # 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT
FAULT_SHELL_NOT_FOUND = 2150858843      # 0x8033805B ERROR_WINRS_SHELL_NOT_FOUND
FAULT_ENVELOPE_TOO_LARGE = 2150858817   # 0x80338041 ERROR_WSMAN_QUOTA_MAX_ENVELOPE_SIZE
PUT_FILE_SCRIPT = "winrm_put_file.ps1"
SEPARATOR = b"\n\0\0\0\0\n"


def q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


@dataclasses.dataclass
class Command:
    executable: str
    arguments: list[str]
    stdin: bytearray = dataclasses.field(default_factory=bytearray)
    done: bool = False
    result: tuple[int, bytes, bytes] | None = None
    sent_output: bool = False
    caller: str | None = None  # the module call it belongs to, known once it runs
    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


@dataclasses.dataclass
class Counts:
    """HTTP requests and body bytes each way (after encryption), in all and per module call.

    A request belongs to the command it names (Command, Send, Receive, Signal), and a command to the
    module call that sent it; authentication, Create and Delete belong to `connection`.
    """

    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    commands: int = 0
    longest_command_line: int = 0
    history: list[Command] = dataclasses.field(default_factory=list)

    def module(self, caller: str) -> dict[str, int]:
        mine = [c for c in self.history if (c.caller or "connection") == caller]
        found = {key: sum(getattr(c, key) for c in mine) for key in ("requests", "bytes_in", "bytes_out")}
        found["commands"] = sum(1 for c in mine if c.caller)
        if caller == "connection":
            for key in ("requests", "bytes_in", "bytes_out"):
                found[key] += getattr(self, key) - sum(getattr(c, key) for c in self.history)
        return found


class WsmanFault(Exception):
    def __init__(self, subcode: str, code: int, message: str, status: int = 500):
        super().__init__(message)
        self.subcode, self.code, self.message, self.status = subcode, code, message, status


class Endpoint:
    """One simulated Windows host's WinRM listener on 127.0.0.1."""

    def __init__(self, state_dir: str | os.PathLike, host: str = "sim-host", *, https: bool = False,
                 users: dict[str, str] | None = None, build: int = 20348, faults: dict[str, t.Any] | None = None,
                 latency_ms: float = 0, reboot_down_s: float = 0, drop_receive: str | None = None,
                 cert_dir: str | os.PathLike | None = None, features: dict[str, str] | None = None):
        self.state_dir, self.host, self.https, self.build = str(state_dir), host, https, build
        self.features = features or {}  # DISM states of a new host's features, as the double's sim_features
        self.users = users or {"vagrant": "vagrant"}
        self.faults = faults or {}
        self.latency_ms, self.reboot_down_s, self.drop_receive = latency_ms, reboot_down_s, drop_receive
        self.shells: dict[str, dict[str, Command]] = {}
        self.counts = Counts()
        self.down_until = 0.0
        self.refused = 0  # requests that met the listener away (rebooting)
        self.lock = threading.Lock()
        self.caller = "connection"
        self.current: Command | None = None  # the command the request in hand names
        self.cert_dir = pathlib.Path(cert_dir) if cert_dir else None
        self.ca_path: str | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------
    def start(self) -> "Endpoint":
        endpoint = self

        class Handler(_Handler):
            server_endpoint = endpoint

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self.https:
            assert self.cert_dir is not None, "https needs cert_dir"
            cert, key, self.ca_path = make_certificate(self.cert_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def hostvars(self, transport: str | None = None, **extra: t.Any) -> dict[str, t.Any]:
        """Inventory variables that point ansible's winrm plugin at this listener."""
        user, password = next(iter(self.users.items()))
        found = {"ansible_connection": "winrm", "ansible_host": "127.0.0.1", "ansible_port": self.port,
                 "ansible_user": user, "ansible_password": password,
                 "ansible_winrm_scheme": "https" if self.https else "http",
                 "ansible_winrm_transport": transport or ("basic" if self.https else "ntlm")}
        if self.https:
            found["ansible_winrm_ca_trust_path"] = self.ca_path
            found["ansible_winrm_server_cert_validation"] = "validate"
        found.update(extra)
        return found

    # -- WinRS ---------------------------------------------------------------------
    def handle(self, body: bytes) -> bytes:
        """One SOAP request -> its SOAP answer (raises WsmanFault)."""
        if len(body) > MAX_ENVELOPE_BYTES:
            raise WsmanFault("w:EncodingLimit", FAULT_ENVELOPE_TOO_LARGE,
                             "The WS-Management service cannot process the request because the request envelope "
                             f"size exceeds the configured MaxEnvelopeSize quota ({MAX_ENVELOPE_BYTES // 1024} KB).",
                             status=500)
        envelope = ET.fromstring(body)
        header = envelope.find("s:Header", NS)
        action = header.findtext("a:Action", "", NS).strip()
        message_id = header.findtext("a:MessageID", "", NS).strip()
        selector = header.find("w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        timeout = _seconds(header.findtext("w:OperationTimeout", "PT20S", NS))
        request = envelope.find("s:Body", NS)
        self.current = None
        if action == ACTION_CREATE:
            answer = self._create()
        else:
            shell_id = selector.text.strip() if selector is not None and selector.text else ""
            if shell_id not in self.shells:
                raise WsmanFault("w:InvalidSelectors", FAULT_SHELL_NOT_FOUND,
                                 f"The request for the Windows Remote Shell with ShellId {shell_id} failed because "
                                 "the shell was not found on the server. Possible causes are: the specified ShellId "
                                 "is incorrect or the shell no longer exists on the server. Provide the correct "
                                 "ShellId or create a new shell and retry the operation.")
            shell = self.shells[shell_id]
            if action == ACTION_DELETE:
                del self.shells[shell_id]
                answer = ET.Element(q("s", "Body"))
            elif action == ACTION_COMMAND:
                answer = self._command(shell, request)
            elif action == ACTION_SEND:
                answer = self._send(shell, request)
            elif action == ACTION_RECEIVE:
                answer = self._receive(shell, request, timeout)
            elif action == ACTION_SIGNAL:
                command_id = request.find("rsp:Signal", NS).get("CommandId")
                self.current = shell.pop(command_id, None)
                answer = ET.Element(q("s", "Body"))
                ET.SubElement(answer, q("rsp", "SignalResponse"))
            else:
                raise WsmanFault("a:ActionNotSupported", 2150858754, f"The action {action} is not supported.")
        return _envelope(action + "Response", message_id, answer)

    def _create(self) -> ET.Element:
        shell_id = str(uuid.uuid4()).upper()
        self.shells[shell_id] = {}
        body = ET.Element(q("s", "Body"))
        created = ET.SubElement(body, q("x", "ResourceCreated"))
        ET.SubElement(created, q("a", "Address")).text = "http://127.0.0.1/wsman"
        reference = ET.SubElement(created, q("a", "ReferenceParameters"))
        ET.SubElement(reference, q("w", "ResourceURI")).text = SHELL_URI + "/cmd"
        selectors = ET.SubElement(reference, q("w", "SelectorSet"))
        ET.SubElement(selectors, q("w", "Selector"), Name="ShellId").text = shell_id
        shell = ET.SubElement(body, q("rsp", "Shell"))
        ET.SubElement(shell, q("rsp", "ShellId")).text = shell_id
        return body

    def _command(self, shell: dict[str, Command], request: ET.Element) -> ET.Element:
        line = request.find("rsp:CommandLine", NS)
        executable = (line.findtext("rsp:Command", "", NS) or "").strip()
        arguments = [(a.text or "") for a in line.findall("rsp:Arguments", NS)]
        command_id = str(uuid.uuid4()).upper()
        shell[command_id] = self.current = Command(executable, arguments)
        self.counts.history.append(self.current)
        body = ET.Element(q("s", "Body"))
        response = ET.SubElement(body, q("rsp", "CommandResponse"))
        ET.SubElement(response, q("rsp", "CommandId")).text = command_id
        return body

    def _send(self, shell: dict[str, Command], request: ET.Element) -> ET.Element:
        for stream in request.findall("rsp:Send/rsp:Stream", NS):
            command = self.current = shell.get(stream.get("CommandId", ""))
            if command is None:
                raise WsmanFault("w:InvalidParameter", 2150858770, "The command was not found.")
            command.stdin += base64.b64decode(stream.text or "")
            if stream.get("End", "").lower() == "true":
                command.done = True
        body = ET.Element(q("s", "Body"))
        ET.SubElement(body, q("rsp", "SendResponse"))
        return body

    def _receive(self, shell: dict[str, Command], request: ET.Element, timeout: float) -> ET.Element:
        stream = request.find("rsp:Receive/rsp:DesiredStream", NS)
        command_id = stream.get("CommandId", "") if stream is not None else ""
        command = self.current = shell.get(command_id)
        if command is None:
            raise WsmanFault("w:InvalidParameter", 2150858770, "The command was not found.")
        if command.sent_output:
            # Everything was delivered already: WinRS holds the Receive until OperationTimeout.
            time.sleep(min(timeout, 1.0))
            raise WsmanFault("w:TimedOut", FAULT_TIMED_OUT,
                             "The WS-Management service cannot complete the operation within the time specified "
                             "in OperationTimeout.")
        if command.result is None:
            command.result = self._run(command)
        rc, stdout, stderr = command.result
        command.sent_output = True
        body = ET.Element(q("s", "Body"))
        response = ET.SubElement(body, q("rsp", "ReceiveResponse"))
        for name, data in (("stdout", stdout), ("stderr", stderr)):
            ET.SubElement(response, q("rsp", "Stream"), Name=name, CommandId=command_id).text = \
                base64.b64encode(data).decode() if data else None
            ET.SubElement(response, q("rsp", "Stream"), Name=name, CommandId=command_id, End="true")
        state = ET.SubElement(response, q("rsp", "CommandState"), CommandId=command_id, State=STATE_DONE)
        ET.SubElement(state, q("rsp", "ExitCode")).text = str(rc)
        return body

    # -- the simulated host ----------------------------------------------------------
    def _run(self, command: Command) -> tuple[int, bytes, bytes]:
        line = " ".join([command.executable, *command.arguments])
        self.counts.longest_command_line = max(self.counts.longest_command_line, len(line))
        if len(line) > MAX_COMMAND_LINE:
            return 1, b"", b"The command line is too long.\r\n"
        in_data = bytes(command.stdin)
        script = dispatch.decode_command(line)
        put = _put_file_request(in_data)
        payload = json.loads(in_data) if dispatch.is_bootstrap(script) and not put else None
        module = None if put or payload is not None else dispatch.parse_module_payload(in_data)
        if put:
            caller = self.caller
        elif payload is not None:
            caller = payload.get("caller", "unknown")
        elif module is not None:
            caller = f"ansible.windows.{module[0]}"
        else:
            caller = "raw"
        self.caller = command.caller = caller
        self.counts.commands += 1
        store = StateStore(self.state_dir, self.host)
        initial: dict[str, t.Any] = {"pending_reboot": bool(self.faults.get("pending_reboot"))}
        if self.features:
            initial["features"] = self.features
        with store.open(build=self.build, initial=initial) as state:
            stats = state["stats"]
            per = stats["by_module"].setdefault(caller, {"round_trips": 0, "requests": 0, "bytes_sent": 0})
            for counts in (stats, per):
                counts["round_trips"] += 1
                counts["bytes_sent"] += len(line) + len(in_data)
            host = Host(self.host, state, self.faults)
            if put:
                path, data = put
                host.write_file(path, data)
                host.event("put_file", path)
                return 0, json.dumps({"sha1": hashlib.sha1(data).hexdigest()}).encode(), b""
            answer = dispatch.run_command(host, script, payload, module)
            raw = payload is None and module is None
            if raw and "shutdown" in script and answer[0] == 0 and self.reboot_down_s:
                self.down_until = time.monotonic() + self.reboot_down_s
            return answer


def _put_file_request(in_data: bytes) -> tuple[str, bytes] | None:
    """(path, bytes) when stdin is ansible's winrm_put_file.ps1 bootstrap followed by base64 lines."""
    parts = in_data.split(SEPARATOR)
    if len(parts) < 3:
        return None
    try:
        manifest = json.loads(parts[1])
    except ValueError:
        return None
    for action in manifest.get("actions", []):
        if action.get("name") == PUT_FILE_SCRIPT:
            data = b"".join(base64.b64decode(line) for line in SEPARATOR.join(parts[2:]).split(b"\r\n") if line)
            return action["params"]["Path"], data
    return None


def _seconds(duration: str) -> float:
    """xs:duration `PT20S` / `PT20.000S` -> 20.0."""
    text = duration.strip().upper().removeprefix("PT").removesuffix("S")
    try:
        return float(text)
    except ValueError:
        return 20.0


def _envelope(action: str, relates_to: str, body: ET.Element) -> bytes:
    envelope = ET.Element(q("s", "Envelope"))
    header = ET.SubElement(envelope, q("s", "Header"))
    ET.SubElement(header, q("a", "Action")).text = action
    ET.SubElement(header, q("a", "MessageID")).text = f"uuid:{uuid.uuid4()}".upper()
    ET.SubElement(header, q("a", "To")).text = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
    ET.SubElement(header, q("a", "RelatesTo")).text = relates_to
    envelope.append(body)
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=False)


def fault_envelope(fault: WsmanFault, relates_to: str = "") -> bytes:
    body = ET.Element(q("s", "Body"))
    element = ET.SubElement(body, q("s", "Fault"))
    code = ET.SubElement(element, q("s", "Code"))
    ET.SubElement(code, q("s", "Value")).text = "s:Receiver" if fault.code == FAULT_TIMED_OUT else "s:Sender"
    sub = ET.SubElement(code, q("s", "Subcode"))
    ET.SubElement(sub, q("s", "Value")).text = fault.subcode
    reason = ET.SubElement(element, q("s", "Reason"))
    ET.SubElement(reason, q("s", "Text"), {"{http://www.w3.org/XML/1998/namespace}lang": "en-US"}).text = \
        fault.message
    detail = ET.SubElement(element, q("s", "Detail"))
    wsman = ET.SubElement(detail, q("f", "WSManFault"), Code=str(fault.code), Machine="127.0.0.1")
    ET.SubElement(wsman, q("f", "Message")).text = fault.message
    return _envelope("http://schemas.dmtf.org/wbem/wsman/1/wsman/fault", relates_to, body)


class _Handler(http.server.BaseHTTPRequestHandler):
    """One TCP connection: NTLM's security context lives as long as it does."""

    protocol_version = "HTTP/1.1"
    server_endpoint: Endpoint
    ntlm: t.Any = None
    authenticated = False

    def log_message(self, format: str, *args: t.Any) -> None:  # pylint: disable=redefined-builtin
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        endpoint = self.server_endpoint
        if time.monotonic() < endpoint.down_until:  # rebooting: nobody listens
            endpoint.refused += 1
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if endpoint.latency_ms:
            time.sleep(endpoint.latency_ms / 1000.0)
        with endpoint.lock:
            endpoint.counts.requests += 1
            endpoint.counts.bytes_in += len(raw)
            endpoint.current = None
        if self.path.split("?")[0].lower() != "/wsman":
            self._reply(404, b"", {})
            return
        if not self._authenticate(raw):
            return
        encrypted = self.ntlm is not None
        if encrypted:
            if not raw:  # pywinrm's setup_encryption posts an empty body once authenticated
                self._reply(200, b"", {})
                return
            try:
                body = self._unwrap(raw)
            except Exception:  # pylint: disable=broad-except
                self._reply(400, b"", {})
                return
        else:
            body = raw
        try:
            with endpoint.lock:
                try:
                    answer, status = endpoint.handle(body), 200
                finally:
                    if endpoint.current is not None:
                        endpoint.current.requests += 1
                        endpoint.current.bytes_in += len(raw)
                drop = bool(endpoint.drop_receive) and endpoint.caller == endpoint.drop_receive \
                    and b"/Receive</" in body
        except ConnectionDropped:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        except WsmanFault as fault:
            answer, status, drop = fault_envelope(fault), fault.status, False
        if drop:  # the listener goes away before the output reaches the client
            endpoint.drop_receive = None
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if encrypted:
            payload = self._wrap(answer)
            headers = {"Content-Type": ('multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";'
                                        'boundary="Encrypted Boundary"')}
        else:
            payload = answer
            headers = {"Content-Type": "application/soap+xml;charset=UTF-8"}
        self._reply(status, payload, headers)

    def _reply(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Server", "Microsoft-HTTPAPI/2.0")
        self.end_headers()
        self.wfile.write(payload)
        endpoint = self.server_endpoint
        with endpoint.lock:
            endpoint.counts.bytes_out += len(payload)
            if endpoint.current is not None:
                endpoint.current.bytes_out += len(payload)

    def _challenge(self, token: bytes | None = None) -> None:
        if token:
            headers = {"WWW-Authenticate": "Negotiate " + base64.b64encode(token).decode()}
        else:
            headers = {"WWW-Authenticate": "Negotiate"}
            if self.server_endpoint.https:
                headers["WWW-Authenticate"] = "Negotiate, Basic realm=\"WSMAN\""
        self.send_response(401)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.send_header("Server", "Microsoft-HTTPAPI/2.0")
        self.end_headers()

    def _authenticate(self, raw: bytes) -> bool:
        if self.authenticated:
            return True
        endpoint = self.server_endpoint
        scheme, _sp, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic" and endpoint.https:
            user, _colon, password = base64.b64decode(value).decode("utf-8", "replace").partition(":")
            if endpoint.users.get(user.split("\\")[-1]) == password:
                return True
            self._challenge()
            return False
        if scheme.lower() in ("negotiate", "ntlm"):
            token = base64.b64decode(value)
            if self.ntlm is None or token[8:12] == b"\x01\x00\x00\x00":
                self.ntlm = spnego.server(protocol="ntlm")
            try:
                answer = self.ntlm.step(token)
            except spnego.exceptions.SpnegoError:
                self.ntlm = None
                self._challenge()
                return False
            if not self.ntlm.complete:
                self._challenge(answer)
                return False
            self.authenticated = True
            return True
        self._challenge()
        return False

    def _unwrap(self, raw: bytes) -> bytes:
        boundary = b"--Encrypted Boundary\r\n"
        parts = [p for p in raw.split(boundary) if p]
        message = b""
        for index in range(0, len(parts), 2):
            length = int(parts[index].split(b"Length=")[1].strip())
            payload = parts[index + 1].replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            payload = payload.removesuffix(b"--Encrypted Boundary--\r\n")
            signature_length = struct.unpack("<i", payload[:4])[0]
            signature = payload[4:4 + signature_length]
            data = self.ntlm.unwrap(signature + payload[4 + signature_length:]).data
            if len(data) != length:
                raise ValueError("encrypted length does not match")
            message += data
        return message

    def _wrap(self, message: bytes) -> bytes:
        wrapped = self.ntlm.wrap(message, encrypt=True).data
        signature, sealed = wrapped[:16], wrapped[16:]
        return (b"--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n"
                b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=" + str(len(message)).encode()
                + b"\r\n--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n"
                + struct.pack("<i", len(signature)) + signature + sealed + b"--Encrypted Boundary--\r\n")


def make_certificate(directory: pathlib.Path) -> tuple[str, str, str]:
    """A self-signed CA and a 127.0.0.1 server certificate: (cert, key, ca) paths."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wcow wire test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (directory / "server.pem", directory / "server.key", directory / "ca.pem")
    paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return str(paths[0]), str(paths[1]), str(paths[2])


def ntlm_user_file(directory: pathlib.Path, users: dict[str, str]) -> str:
    """pyspnego's acceptor credential store (NTLM_USER_FILE, Heimdal `DOMAIN:USER:PASSWORD` lines)."""
    path = directory / "ntlm_users"
    path.write_text("".join(f":{user}:{password}\n" for user, password in users.items()))
    return str(path)
