"""Records every Alertmanager webhook notification: one JSON line per POST, {"receiver_path", "payload"}."""
import http.server
import json
import sys

PORT, OUT = int(sys.argv[1]), sys.argv[2]


class Recorder(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(OUT, "a") as out:
            out.write(json.dumps({"path": self.path, "payload": json.loads(body)}) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Recorder).serve_forever()
