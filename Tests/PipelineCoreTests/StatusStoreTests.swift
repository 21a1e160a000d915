import AWSClients
import PipelineCore
import Primitives
import Testing
import TestSupport

@Suite("Status table on moto: idempotent claims, owner-conditional completion, GSI queries")
struct StatusStoreTests {
    static let file = TrackedFile(
        dataset: "sales", fileName: "eu/2024-05-01.jsonl", bucket: "dropbox", key: "received_files/eu/2024-05-01.jsonl", size: 42,
        etag: "\"0123abcd\"")

    static func store(clock: ManualClock) async throws -> StatusStore {
        let clients = try Moto.clients(clock: clock)
        let table = try await Moto.statusTable(clients)
        return StatusStore(dynamoDB: clients.dynamoDB, table: table, clock: clock, timeToLive: .seconds(86_400))
    }

    @Test("A first claim wins with attempt 1 and the working status; the item holds the file's fields")
    func firstClaim() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let deadline = clock.now().adding(seconds: 60)
        let result = try await store.claim(fileId: "sales/eu/2024-05-01.jsonl@0123abcd", stage: .dropbox, file: Self.file, owner: "req-1", deadline: deadline)
        guard case .claimed(let record) = result else { Issue.record("expected a claim, got \(result)"); return }
        #expect(record.attempt == 1)
        #expect(record.status == .received)
        #expect(record.claimOwner == "req-1")
        #expect(record.claimExpiresAt == deadline)
        #expect(record.etag == "0123abcd")
        #expect(record.size == 42)
        #expect(record.receivedAt == "2024-05-24T10:00:00.000Z")
        #expect(record.updatedAt == "2024-05-24T10:00:00.000Z")
        #expect(record.expiresAt == clock.now().secondsSinceEpoch + 86_400)
    }

    @Test("A live claim makes a second claimer acknowledge (heldByOther); a final status makes it alreadyDone")
    func duplicates() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let id = "sales/eu/2024-05-01.jsonl@dup"
        let deadline = clock.now().adding(seconds: 60)
        _ = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "req-1", deadline: deadline)
        let second = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "req-2", deadline: deadline)
        guard case .heldByOther(let owner, let until, _) = second else { Issue.record("expected heldByOther, got \(second)"); return }
        #expect(owner == "req-1")
        #expect(until == deadline)
        clock.advance(seconds: 5)
        let done = try await store.complete(
            fileId: id, stage: .dropbox, owner: "req-1", outcome: StatusOutcome(status: .accepted, bytes: 42, durationMs: 12))
        #expect(done.status == .accepted)
        #expect(done.updatedAt == "2024-05-24T10:00:05.000Z")
        #expect(done.receivedAt == "2024-05-24T10:00:00.000Z")
        // Even long after the deadline, a finished file is never claimed again.
        clock.advance(seconds: 3600)
        let third = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "req-3", deadline: clock.now().adding(seconds: 60))
        guard case .alreadyDone(let record) = third else { Issue.record("expected alreadyDone, got \(third)"); return }
        #expect(record.status == .accepted)
        #expect(record.attempt == 1)
        // Each stage has its own item.
        let ingest = try await store.claim(fileId: id, stage: .ingest, file: Self.file, owner: "req-4", deadline: clock.now().adding(seconds: 60))
        guard case .claimed(let ingestRecord) = ingest else { Issue.record("expected a claim for the ingest stage"); return }
        #expect(ingestRecord.status == .ingesting)
    }

    @Test("A crashed invocation's claim expires with its deadline: the retry claims it (attempt 2), the old owner can no longer complete")
    func expiredClaim() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let id = "sales/eu/2024-05-01.jsonl@crash"
        _ = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "crashed", deadline: clock.now().adding(seconds: 30))
        clock.advance(seconds: 29)
        let early = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "retry", deadline: clock.now().adding(seconds: 60))
        guard case .heldByOther = early else { Issue.record("a claim before the deadline must not be taken over"); return }
        clock.advance(seconds: 2)
        let late = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "retry", deadline: clock.now().adding(seconds: 60))
        guard case .claimed(let record) = late else { Issue.record("expected the retry to claim, got \(late)"); return }
        #expect(record.attempt == 2)
        #expect(record.claimOwner == "retry")
        #expect(record.receivedAt == "2024-05-24T10:00:00.000Z")
        await #expect(throws: PipelineCoreError.self) {
            try await store.complete(fileId: id, stage: .dropbox, owner: "crashed", outcome: StatusOutcome(status: .accepted))
        }
        do {
            try await store.complete(fileId: id, stage: .dropbox, owner: "crashed", outcome: StatusOutcome(status: .accepted))
        } catch {
            #expect(error.code == .claimLost)
        }
        let finished = try await store.complete(
            fileId: id, stage: .dropbox, owner: "retry",
            outcome: StatusOutcome(status: .rejected, reason: "The file is empty (0 bytes).", errorCode: "EmptyFile"))
        #expect(finished.reason == "The file is empty (0 bytes).")
        #expect(finished.errorCode == "EmptyFile")
        #expect(finished.claimExpiresAt == Timestamp(millisecondsSinceEpoch: 0))
    }

    @Test("Releasing a claim after a transient failure lets the redelivery claim at once, and notes why")
    func release() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let id = "sales/eu/2024-05-01.jsonl@release"
        _ = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "a", deadline: clock.now().adding(seconds: 600))
        let released = try await store.release(fileId: id, stage: .dropbox, owner: "a", reason: "S3 unavailable", errorCode: "CopyFailed")
        #expect(released.status == .received)
        #expect(released.errorCode == "CopyFailed")
        let again = try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "b", deadline: clock.now().adding(seconds: 600))
        guard case .claimed(let record) = again else { Issue.record("expected a claim after the release, got \(again)"); return }
        #expect(record.attempt == 2)
        #expect(record.errorCode == nil && record.reason == nil)
    }

    @Test("Eight invocations racing for one file: exactly one claims it")
    func race() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let id = "sales/eu/2024-05-01.jsonl@race"
        let deadline = clock.now().adding(seconds: 60)
        let results = try await withThrowingTaskGroup(of: ClaimResult.self) { group in
            for index in 0..<8 {
                group.addTask { try await store.claim(fileId: id, stage: .dropbox, file: Self.file, owner: "req-\(index)", deadline: deadline) }
            }
            var all: [ClaimResult] = []
            for try await result in group { all.append(result) }
            return all
        }
        let winners = results.filter { if case .claimed = $0 { true } else { false } }
        #expect(winners.count == 1)
        #expect(results.count == 8)
        let stored = try #require(try await store.get(fileId: id, stage: .dropbox))
        #expect(stored.attempt == 1)
    }

    @Test("Items are found by file name (file_name_index) and by dataset and time (dataset_time_index)")
    func queries() async throws {
        let clock = ManualClock(Timestamp(iso8601: "2024-05-24T10:00:00Z")!)
        let store = try await Self.store(clock: clock)
        let other = TrackedFile(dataset: "sales", fileName: "us/2024-05-02.jsonl", bucket: "dropbox", key: "received_files/us/2024-05-02.jsonl")
        _ = try await store.claim(fileId: "sales/eu/2024-05-01.jsonl@v1", stage: .dropbox, file: Self.file, owner: "a", deadline: clock.now().adding(seconds: 9))
        clock.advance(seconds: 60)
        _ = try await store.claim(fileId: "sales/eu/2024-05-01.jsonl@v1", stage: .ingest, file: Self.file, owner: "b", deadline: clock.now().adding(seconds: 9))
        clock.advance(seconds: 60)
        _ = try await store.claim(fileId: "sales/us/2024-05-02.jsonl@v1", stage: .dropbox, file: other, owner: "c", deadline: clock.now().adding(seconds: 9))
        let history = try await store.history(fileName: "eu/2024-05-01.jsonl")
        #expect(history.map(\.stage) == [.dropbox, .ingest])
        let window = try await store.updates(
            dataset: "sales", from: Timestamp(iso8601: "2024-05-24T10:00:30Z")!, to: Timestamp(iso8601: "2024-05-24T10:05:00Z")!)
        #expect(window.map(\.fileName) == ["eu/2024-05-01.jsonl", "us/2024-05-02.jsonl"])
        #expect(window.map(\.stage) == [.ingest, .dropbox])
    }

    @Test("File ids: dataset, path relative to the prefix, ETag without quotes or the version id")
    func fileIds() {
        #expect(FileId.make(dataset: "sales", relativePath: "eu/a b.jsonl", etag: "\"abc\"", versionId: nil) == "sales/eu/a b.jsonl@abc")
        #expect(FileId.make(dataset: "sales", relativePath: "x.csv", etag: "\"abc\"", versionId: "3HL4kqtJ") == "sales/x.csv@3HL4kqtJ")
        #expect(FileId.make(dataset: "sales", relativePath: "x.csv", etag: "abc-2", versionId: "null") == "sales/x.csv@abc-2")
        #expect(PipelineMetadata.decode(PipelineMetadata.encode("in/café 100%.csv")) == "in/café 100%.csv")
        #expect(PipelineMetadata.encode("in/café 100%.csv").utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F })
    }
}
