import AWSClients
import AWSCore
import AWSSigV4
import DropboxHandler
import Foundation
import IngestHandler
import JSONCodec
import OpenSearchStandIn
import PipelineCore
import PipelineSettings
import Primitives
import TestSupport
import Testing

/// The function roles of infra/template.yaml, enforced: a handler runs with the key of an IAM user
/// that holds exactly its role's policy (`scripts/iam_user_from_template.py`), against
/// moto with IAM enforcement on. moto checks the resources of S3 requests (bucket and key) and the
/// actions of every request; the OpenSearch stand-in knows the user's key and checks its signatures.
@Suite("The template's dropbox and ingest roles, enforced by moto's IAM")
struct IngestRoleTests {
    /// A user holding the ingest role's policy, `without` some actions.
    static func user(_ stack: IngestTestStack, without: [String] = []) async throws -> RoleUser {
        try await RoleUser.make(
            in: stack.moto, role: "IngestFunctionRole", buckets: ["IngestBucket": stack.bucket], queues: ["IngestQueue"], without: without)
    }

    /// The handler as the role runs it: every AWS call signed with the user's key, OpenSearch too
    /// (a stand-in of its own that knows that key).
    struct RoleRun {
        let handler: IngestObjectHandler<OpenSearchBulkSink>
        let openSearch: OpenSearchClient
        let standIn: OpenSearchStandIn
    }

    static func run(_ stack: IngestTestStack, as user: RoleUser) throws -> RoleRun {
        let standIn = try OpenSearchStandIn(
            OpenSearchStandInConfiguration(
                region: stack.moto.region, service: "es", accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey))
        var environment = stack.environment
        environment["OPEN_SEARCH_ENDPOINT"] = standIn.endpoint
        let settings = try AWSSettings(environment: Environment(environment))
        let credentials = StaticCredentialProvider(user.credentials)
        let clients = try PipelineClients.make(settings: settings, credentials: credentials, transport: IngestTestStack.transport)
        let openSearch = try OpenSearchClient(settings: settings, credentials: credentials, transport: IngestTestStack.transport, quota: RetryQuota())
        let handler = IngestObjectHandler(
            settings: stack.settings, catalog: stack.catalog, s3: clients.s3, status: StatusStore(dynamoDB: clients.dynamoDB, table: stack.table),
            mover: FileMover(s3: clients.s3), sink: OpenSearchBulkSink(indexer: BulkIndexer(client: openSearch, settings: stack.settings.bulk)))
        return RoleRun(handler: handler, openSearch: openSearch, standIn: standIn)
    }

    @Test("The role is enough: records indexed, the errors object written, the file filed, its status recorded; a duplicate copy removed")
    func roleIsEnough() async throws {
        let stack = try await IngestTestStack()
        let user = try await Self.user(stack)
        #expect(user.actions.contains("s3:PutObject") && user.actions.contains("dynamodb:UpdateItem") && !user.actions.contains("s3:*"))
        let role = try Self.run(stack, as: user)
        defer { role.standIn.stop() }
        let body = IngestHandlerTests.eventLines(0..<60) + Array("not json\n".utf8)
        let put = try await stack.s3.putObject(bucket: stack.bucket, key: "in/events/role.jsonl", body: body)
        let result = try await role.handler.ingest(
            bucket: stack.bucket, key: "in/events/role.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        let outcome = try #require(result.outcome)
        #expect(outcome.status == .partial && outcome.indexed == 60 && outcome.failed == 1)
        #expect(try await stack.exists("processed/events/role.jsonl"))
        #expect(try await stack.exists("failed/events/role.jsonl.errors.jsonl"))
        #expect(try await stack.statusRecord(outcome.fileId)?.status == .partial)
        try await role.openSearch.refresh("events-2024.05")
        #expect(try await role.openSearch.count("events-2024.05") == 60)

        // The same file again under in/ (a dropbox that copied it twice): found filed, removed.
        _ = try await stack.s3.putObject(bucket: stack.bucket, key: "in/events/role.jsonl", body: body)
        let again = try await role.handler.ingest(
            bucket: stack.bucket, key: "in/events/role.jsonl", eventETag: put.etag, context: IngestTestStack.context())
        #expect(again == .alreadyDone(.partial))
        #expect(try await !stack.exists("in/events/role.jsonl"))
    }

    @Test("The dropbox role is enough: a good file moved into in/ by the dropbox's own init, a bad one rejected with its report")
    func dropboxRoleIsEnough() async throws {
        let probe = try await IngestTestStack(datasets: "hostile-datasets.json")
        let dropboxBucket = "dropbox-\(UUID().uuidString.lowercased().prefix(10))"
        let user = try await RoleUser.make(
            in: probe.moto, role: "DropboxFunctionRole", buckets: ["DropboxBucket": dropboxBucket, "IngestBucket": probe.bucket],
            queues: ["DropboxQueue"], refs: ["DropboxPrefix": "received_files/"])
        #expect(user.actions.contains("s3:DeleteObject") && user.actions.contains("ssm:GetParameter"))
        let pipeline = try await HostileFilesThroughHandlersTests.Pipeline(
            stack: probe, dropboxBucket: dropboxBucket,
            credentials: user.credentials)
        let good = try IngestTestStack.fixture("hostile/crlf.jsonl")
        let put = try await probe.s3.putObject(bucket: dropboxBucket, key: "received_files/events/good.jsonl", body: good)
        let accepted = try await pipeline.runDropbox("events/good.jsonl", etag: put.etag, size: Int64(good.count))
        try await pipeline.checkDropbox("events/good.jsonl", accepted, .accepted)
        #expect(try await probe.exists(IngestKeys(dataset: "events", rest: "events/good.jsonl").incoming))
        let empty = try await probe.s3.putObject(bucket: dropboxBucket, key: "received_files/events/empty.jsonl", body: [])
        let rejected = try await pipeline.runDropbox("events/empty.jsonl", etag: empty.etag, size: 0)
        try await pipeline.checkDropbox("events/empty.jsonl", rejected, .rejected(.emptyFile))
    }

    @Test("Enforcement is real: without s3:PutObject the move is refused with AccessDenied and the file stays under in/")
    func withoutPutObject() async throws {
        let stack = try await IngestTestStack()
        let user = try await Self.user(stack, without: ["s3:PutObject"])
        #expect(!user.actions.contains("s3:PutObject"))
        let role = try Self.run(stack, as: user)
        defer { role.standIn.stop() }
        try await stack.put("in/events/denied.jsonl", IngestHandlerTests.eventLines(0..<10))
        let error = await #expect(throws: IngestError.self) {
            _ = try await role.handler.ingest(bucket: stack.bucket, key: "in/events/denied.jsonl", context: IngestTestStack.context())
        }
        #expect(error?.code == .move)
        #expect(error.map { "\($0)" }?.contains("AccessDenied") == true)
        #expect(try await stack.exists("in/events/denied.jsonl"))
        #expect(try await !stack.exists("processed/events/denied.jsonl"))
    }
}
