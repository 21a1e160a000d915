import AWSSigV4
import Foundation
import HTTPTransport
import JSONCodec
import OpenSearchStandIn
import Primitives
import Testing

@Suite("OpenSearch stand-in: signatures, faults and persistence")
struct StandInSecurityAndFaultTests {
    static let mismatch =
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and "
        + "signing method. Consult the service documentation for details."

    @Test("A correctly signed request passes; wrong secret, unsigned, tampered body or unknown key get 403 with an AWS message")
    func signatureChecks() async throws {
        var h = try StandInHarness()
        #expect(try await h.send("PUT", "/secure", json: [:]).status == 200)

        var wrongSecret = h
        wrongSecret.credentials = AWSCredentials(accessKeyId: StandInHarness.accessKeyId, secretAccessKey: "not-the-secret")
        let rejected = try await wrongSecret.send("GET", "/secure/_count")
        #expect(rejected.status == 403)
        #expect(rejected.json == ["message": .string(Self.mismatch)])
        #expect(!rejected.text.contains(StandInHarness.secret))

        let tampered = try await h.send("POST", "/secure/_count", body: Array(#"{"query":{"match_all":{}}}"#.utf8)) { request in
            request.body = .bytes(Array(#"{"query":{"term":{"a":"b"}}}"#.utf8))
        }
        #expect(tampered.status == 403)
        #expect(tampered.json["message"] == .string(Self.mismatch))

        var unknownKey = h
        unknownKey.credentials = AWSCredentials(accessKeyId: "AKIDSOMEONEELSE00000", secretAccessKey: StandInHarness.secret)
        let unknown = try await unknownKey.send("GET", "/secure/_count")
        #expect(unknown.status == 403)
        #expect(unknown.json["message"] == "The security token included in the request is invalid.")

        var wrongService = h
        wrongService.signer = SigV4Signer(service: "aoss", region: "eu-west-2")
        #expect(try await wrongService.send("GET", "/secure/_count").status == 403)

        h.sign = false
        let unsigned = try await h.send("GET", "/secure/_count")
        #expect(unsigned.status == 403)
        #expect(unsigned.json["message"]?.stringValue?.contains("Authorization header requires") == true)

        // A session token is signed and accepted.
        var withToken = StandInHarness(copying: wrongSecret, credentials: AWSCredentials(
            accessKeyId: StandInHarness.accessKeyId, secretAccessKey: StandInHarness.secret, sessionToken: "FQoGZXIvYXdzEXAMPLE"))
        withToken.sign = true
        #expect(try await withToken.send("GET", "/secure/_count").status == 200)
        #expect(h.standIn.stats.signatureRejections == 5)
    }

    @Test("aoss: the stand-in checks x-amz-content-sha256 against the body")
    func aossContentHash() async throws {
        let h = try StandInHarness(service: "aoss")
        #expect(try await h.send("PUT", "/coll", json: [:]).status == 200)
        let lying = try await h.send("POST", "/coll/_count", body: Array("{}".utf8)) { request in
            request.headers.set("x-amz-content-sha256", SHA256.hash(Array("{ }".utf8)).hex)
        }
        #expect(lying.status == 400)
    }

    @Test("Verification can be switched off")
    func noAuth() async throws {
        var h = try StandInHarness(verifies: false)
        h.sign = false
        #expect(try await h.send("PUT", "/open", json: [:]).status == 200)
    }

    @Test("Seeded item rejections answer 429 rejected_execution_exception and repeat from run to run")
    func itemFaultsRepeat() async throws {
        func run() async throws -> [Int] {
            let h = try StandInHarness(faults: FaultSettings(itemRejectionRate: 0.3, seed: 42))
            var lines: [JSON] = []
            for i in 0..<100 {
                lines.append(["index": ["_index": "f", "_id": .string("\(i)")]])
                lines.append(["i": .number(i)])
            }
            let reply = try await h.bulk(lines, query: "?refresh=true")
            let items = try #require(reply.json["items"]?.arrayValue)
            let statuses = items.compactMap { $0["index"]?["status"]?.intValue }
            let rejected = items.first { $0["index"]?["status"] == 429 }
            #expect(rejected?["index"]?["error"]?["type"] == "rejected_execution_exception")
            #expect(try await h.send("GET", "/f/_count").json["count"] == .number(statuses.filter { $0 == 201 }.count))
            return statuses
        }
        let first = try await run()
        let rejectedCount = first.filter { $0 == 429 }.count
        #expect((15...45).contains(rejectedCount))
        #expect(try await run() == first)
    }

    @Test("Request faults: a share of _bulk requests get 429 or 503 with OpenSearch bodies; failNext scripts the next ones")
    func requestFaults() async throws {
        let h = try StandInHarness(faults: FaultSettings(requestRejectionRate: 0.5, seed: 7))
        var statuses: [Int] = []
        for i in 0..<20 {
            let reply = try await h.bulk([["index": ["_index": "r", "_id": .string("\(i)")]], ["i": .number(i)]])
            statuses.append(reply.status)
            if reply.status == 429 {
                #expect(reply.json[path: "error.type"] == "rejected_execution_exception")
                #expect(reply.json[path: "error.root_cause.0.type"] == "rejected_execution_exception")
                #expect(reply.json["status"] == 429)
            }
        }
        #expect(statuses.contains(429) && statuses.contains(200))
        #expect(try await h.send("HEAD", "/r").status == 200, "the bulk scope leaves other requests alone")

        h.standIn.setFaults(.none)
        h.standIn.failNext(ScriptedFault(count: 2, status: 503))
        let first = try await h.send("GET", "/r/_count")
        #expect(first.status == 503)
        #expect(first.json[path: "error.type"] == "unavailable_shards_exception")
        #expect(try await h.send("GET", "/r/_count").status == 503)
        #expect(try await h.send("GET", "/r/_count").status == 200)
    }

    @Test("Indices, mappings, documents and counts survive a restart on the same data directory")
    func persistence() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let h = try StandInHarness(dataDirectory: directory)
            _ = try await h.send("PUT", "/keep", json: ["mappings": ["properties": ["amount": ["type": "float"]]]])
            var lines: [JSON] = []
            for i in 0..<50 {
                lines.append(["index": ["_index": "keep", "_id": .string("k\(i)")]])
                lines.append(["amount": .number(Double(i) + 0.5), "label": .string("row \(i)")])
            }
            lines += [["delete": ["_index": "keep", "_id": "k0"]], ["index": ["_index": "keep", "_id": "k1"]], ["amount": .number("9.25")]]
            #expect(try await h.bulk(lines).json["errors"] == false)
            _ = try await h.send("PUT", "/dropped", json: [:])
            _ = try await h.send("DELETE", "/dropped")
            h.standIn.stop()
        }
        // A torn last line (a crash mid-write) is ignored.
        let log = directory + "/indices/keep/documents.jsonl"
        let handle = try #require(FileHandle(forWritingAtPath: log))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"op":"put","id":"torn","vers"#.utf8))
        try handle.close()

        let h = try StandInHarness(dataDirectory: directory)
        #expect(try await h.send("GET", "/keep/_count").json["count"] == 49)
        let k1 = try await h.send("GET", "/keep/_doc/k1")
        #expect(k1.json["_version"] == 2)
        #expect(k1.json["_source"] == ["amount": .number("9.25")])
        #expect(try await h.send("GET", "/keep/_doc/k0").status == 404)
        #expect(try await h.send("GET", "/keep/_mapping").json[path: "keep.mappings.properties.label.type"] == "text")
        #expect(try await h.send("HEAD", "/dropped").status == 404)
        // Sequence numbers continue after the restart.
        let next = try await h.bulk([["index": ["_index": "keep", "_id": "k99"]], ["amount": 1]])
        #expect(next.json[path: "items.0.index._seq_no"] == 52)
        let conflict = try await h.bulk([["index": ["_index": "keep", "_id": "k98"]], ["amount": "lots"]])
        #expect(conflict.json[path: "items.0.index.error.type"] == "mapper_parsing_exception")
    }
}

extension StandInHarness {
    /// The same stand-in, with other credentials.
    init(copying other: StandInHarness, credentials: AWSCredentials) {
        self = other
        self.credentials = credentials
    }
}
