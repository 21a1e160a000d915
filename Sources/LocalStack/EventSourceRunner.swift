package import AWSClients
package import AWSCore
import Foundation
package import JSONCodec
import Primitives
package import RuntimeAPIStandIn

/// What one function's event source has done so far.
package struct RunnerCounters: Sendable, Hashable {
    package var invocations = 0
    /// Invocations that ended in an error post, a time-out or a dead bootstrap (whole batch left).
    package var invocationErrors = 0
    package var timeouts = 0
    package var messagesReceived = 0
    package var messagesDeleted = 0
    /// Messages reported in `batchItemFailures` (left for redelivery).
    package var messagesFailed = 0
    /// Bootstrap processes started after the first.
    package var restarts = 0
    package var running = false
    /// Set when the bootstrap keeps dying; the runner stops polling.
    package var givenUp: String?
    /// Messages received again after an earlier receive (`ApproximateReceiveCount` above 1).
    package var redeliveries = 0
    /// Messages invoked a second time on purpose (`DeliveryChaos.duplicateDeliveries`).
    package var duplicateDeliveries = 0
    /// Bootstraps killed in the middle of an invocation (`DeliveryChaos.killRate`).
    package var kills = 0
}

/// How the event source misbehaves on purpose, as SQS and Lambda may: every message delivered
/// twice, and some invocations killed mid-work (Lambda ends an environment on a time-out).
package struct DeliveryChaos: Sendable, Hashable {
    /// Every received batch is invoked a second time, in an invocation of its own, with the same
    /// messages (ids and receipt handles); a message is deleted when either invocation succeeded.
    package var duplicateDeliveries: Bool
    /// The share of invocations whose bootstrap is killed (SIGKILL) while it works.
    package var killRate: Double
    /// When the kill comes, in milliseconds after the runtime took the event.
    package var killAfterMilliseconds: ClosedRange<Int>
    package var seed: UInt64

    package init(duplicateDeliveries: Bool = true, killRate: Double, killAfterMilliseconds: ClosedRange<Int> = 20...400, seed: UInt64) {
        self.duplicateDeliveries = duplicateDeliveries
        self.killRate = killRate
        self.killAfterMilliseconds = killAfterMilliseconds
        self.seed = seed
    }
}

/// How one function is run: its bootstrap, environment, queue and limits.
package struct FunctionSpec: Sendable {
    package var kind: FunctionKind
    package var bootstrap: String
    /// The whole environment of the bootstrap process (Lambda gives a clean one).
    package var environment: [String: String]
    package var queueURL: String
    package var queueArn: String
    package var region: String
    package var functionArn: String
    package var batchSize: Int
    package var timeout: Duration
    package var logPath: String
    /// Restarts tolerated before giving up (restarts after kills and time-outs do not count).
    package var maxRestarts = 5
    package var chaos: DeliveryChaos?

    package init(
        kind: FunctionKind, bootstrap: String, environment: [String: String], queueURL: String, queueArn: String, region: String,
        functionArn: String, batchSize: Int, timeout: Duration, logPath: String
    ) {
        self.kind = kind
        self.bootstrap = bootstrap
        self.environment = environment
        self.queueURL = queueURL
        self.queueArn = queueArn
        self.region = region
        self.functionArn = functionArn
        self.batchSize = batchSize
        self.timeout = timeout
        self.logPath = logPath
    }
}

/// Lambda's SQS event source for one function, on loopback: keeps one warm bootstrap process
/// (restarted if it dies), polls the queue, invokes the bootstrap through its own Runtime API
/// stand-in with an SQS event built as Lambda builds it, deletes the messages that succeeded and
/// leaves the others to become visible again (SQS's redrive policy moves them to the dead-letter
/// queue after the maximum receive count).
package final class FunctionRunner: @unchecked Sendable {
    package let spec: FunctionSpec
    package let standIn: RuntimeAPIStandIn
    private let sqs: SQSClient
    private let lock = NSLock()
    // Guarded by `lock`.
    private var process: Process?
    private var counters = RunnerCounters()
    private var stopped = false
    private var logHandle: FileHandle?
    private var random: SplitMix64

    package init(spec: FunctionSpec, sqs: SQSClient) throws(LocalStackError) {
        self.spec = spec
        self.sqs = sqs
        random = SplitMix64(seed: spec.chaos?.seed ?? 0)
        do {
            standIn = try RuntimeAPIStandIn(functionArn: spec.functionArn)
        } catch {
            throw LocalStackError(.launch, "the Runtime API stand-in for \(spec.kind.rawValue) did not start: \(error)")
        }
    }

    package var snapshot: RunnerCounters { lock.withLock { counters } }

    /// The warm bootstrap's process id, while it runs.
    package var processIdentifier: Int32? {
        lock.withLock { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }
    }

    /// Starts the bootstrap (the init phase runs now, as on a cold start).
    package func start() throws(LocalStackError) {
        _ = FileManager.default.createFile(atPath: spec.logPath, contents: nil)
        let handle = FileHandle(forWritingAtPath: spec.logPath)
        lock.withLock { logHandle = handle }
        try launch()
    }

    private func launch() throws(LocalStackError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spec.bootstrap)
        var environment = spec.environment
        environment["AWS_LAMBDA_RUNTIME_API"] = standIn.runtimeAPI
        process.environment = environment
        let log = lock.withLock { logHandle }
        process.standardOutput = log ?? FileHandle.nullDevice
        process.standardError = log ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw LocalStackError(.launch, "cannot start \(spec.bootstrap): \(error.localizedDescription)")
        }
        lock.withLock { self.process = process }
    }

    /// Restarts a bootstrap that has exited; false once it has died too often.
    private func ensureRunning() -> Bool {
        let (alive, restarts, gaveUp) = lock.withLock {
            (process?.isRunning ?? false, counters.restarts - counters.kills - counters.timeouts, counters.givenUp != nil)
        }
        if gaveUp { return false }
        if alive { return true }
        if restarts >= spec.maxRestarts {
            lock.withLock {
                counters.givenUp = "\(spec.executableName) exited \(restarts + 1) times (see \(spec.logPath))"
            }
            return false
        }
        lock.withLock { counters.restarts += 1 }
        do {
            try launch()
            return true
        } catch {
            lock.withLock { counters.givenUp = error.description }
            return false
        }
    }

    /// Stops polling and ends the bootstrap.
    package func stop() {
        let process = lock.withLock { () -> Process? in
            stopped = true
            return self.process
        }
        if let process, process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        standIn.stop()
        lock.withLock { try? logHandle?.close() }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// Polls until `stop()`.
    package func run() async {
        while !isStopped {
            guard ensureRunning() else { return }
            do {
                _ = try await pollOnce(waitSeconds: 1)
            } catch {
                // moto busy or restarting: try again shortly.
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// One ReceiveMessage and, when it returned messages, one invocation (two with duplicate
    /// deliveries). Returns the number of messages handled.
    @discardableResult
    package func pollOnce(waitSeconds: Int) async throws(AWSError) -> Int {
        let messages = try await sqs.receiveMessages(
            queueURL: spec.queueURL, maxMessages: spec.batchSize, waitTimeSeconds: waitSeconds, systemAttributes: ["All"],
            messageAttributeNames: ["All"])
        guard !messages.isEmpty else { return 0 }
        lock.withLock {
            counters.messagesReceived += messages.count
            counters.redeliveries += messages.filter { ($0.attributes["ApproximateReceiveCount"].flatMap { Int($0) } ?? 1) > 1 }.count
            counters.running = true
        }
        defer { lock.withLock { counters.running = false } }
        var succeeded = await invoke(messages)
        if spec.chaos?.duplicateDeliveries == true, ensureRunning() {
            lock.withLock { counters.duplicateDeliveries += messages.count }
            succeeded.formUnion(await invoke(messages))
        }
        let done = messages.filter { succeeded.contains($0.messageId) }
        if !done.isEmpty {
            let result = try await sqs.deleteMessageBatch(
                queueURL: spec.queueURL, entries: done.enumerated().map { (id: "m\($0.offset)", receiptHandle: $0.element.receiptHandle) })
            lock.withLock { counters.messagesDeleted += result.successful.count }
        }
        return messages.count
    }

    /// One invocation with `messages`; returns the ids of those that succeeded.
    private func invoke(_ messages: [SQSMessage]) async -> Set<String> {
        lock.withLock { counters.invocations += 1 }
        let event = Self.event(messages, queueArn: spec.queueArn, region: spec.region)
        let deadline = SystemClock().now().adding(milliseconds: spec.timeout.milliseconds)
        let requestId = standIn.enqueue(payload: event.bytes, deadline: deadline)
        let killer = killDelay().map { delay in Task { await self.kill(requestId, after: delay) } }
        let outcome = await waitForResult(requestId, deadline: deadline)
        killer?.cancel()
        switch outcome {
        case .response(let bytes):
            switch Self.failedIdentifiers(bytes, batch: messages) {
            case .some(let failed):
                lock.withLock { counters.messagesFailed += failed.count }
                return Set(messages.map(\.messageId)).subtracting(failed)
            case .none:
                // An unreadable partial-batch response fails the whole batch, as Lambda does.
                lock.withLock { counters.invocationErrors += 1 }
                return []
            }
        case .error, .timedOut, .died:
            // A runtime started later must not pick up an event its caller gave up on.
            standIn.withdraw(requestId)
            lock.withLock {
                counters.invocationErrors += 1
                if case .timedOut = outcome { counters.timeouts += 1 }
            }
            if case .timedOut = outcome {
                // Lambda resets the execution environment after a time-out.
                let process = lock.withLock { self.process }
                process?.terminate()
                process?.waitUntilExit()
            }
            return []
        }
    }

    /// Whether (seeded) this invocation's bootstrap is to be killed, and when.
    private func killDelay() -> Duration? {
        guard let chaos = spec.chaos, chaos.killRate > 0 else { return nil }
        return lock.withLock {
            let draw = Double(random.next() >> 11) / Double(UInt64(1) << 53)
            let span = chaos.killAfterMilliseconds
            let delay = span.lowerBound + random.below(span.count)
            return draw < chaos.killRate ? .milliseconds(delay) : nil
        }
    }

    /// Kills the bootstrap `delay` after it took the invocation, unless it answered first.
    private func kill(_ requestId: String, after delay: Duration) async {
        while !standIn.wasDelivered(requestId) {
            if Task.isCancelled || standIn.result(requestId) != nil { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        try? await Task.sleep(for: delay)
        guard !Task.isCancelled, standIn.result(requestId) == nil else { return }
        lock.withLock {
            guard let process, process.isRunning else { return }
            Foundation.kill(process.processIdentifier, SIGKILL)
            counters.kills += 1
        }
    }

    enum Outcome {
        case response([UInt8])
        case error(String)
        case timedOut
        case died
    }

    private func waitForResult(_ requestId: String, deadline: Timestamp) async -> Outcome {
        // A little past the deadline: the runtime may post just after it.
        let limit = deadline.adding(milliseconds: 2000)
        while true {
            if let result = standIn.result(requestId) {
                switch result {
                case .response(let bytes): return .response(bytes)
                case .error(let type, _): return .error(type)
                }
            }
            if SystemClock().now() > limit { return .timedOut }
            if !lock.withLock({ process?.isRunning ?? false }) {
                // One last look: the answer may have arrived as the process ended.
                if let result = standIn.result(requestId), case .response(let bytes) = result { return .response(bytes) }
                return .died
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    // MARK: The event, as Lambda builds it

    /// `{"Records":[{messageId, receiptHandle, body, attributes, messageAttributes, md5OfBody,
    /// eventSource, eventSourceARN, awsRegion}]}`.
    package static func event(_ messages: [SQSMessage], queueArn: String, region: String) -> JSON {
        let records: [JSON] = messages.map { message in
            var attributes = JSONObject()
            for name in message.attributes.keys.sorted() { attributes.append(name, .string(message.attributes[name]!)) }
            var messageAttributes = JSONObject()
            for name in message.messageAttributes.keys.sorted() {
                let attribute = message.messageAttributes[name]!
                var object: JSONObject = [:]
                switch attribute.value {
                case .string(let text), .number(let text): object.append("stringValue", .string(text))
                case .binary(let bytes): object.append("binaryValue", .string(Base64.encode(bytes)))
                }
                object.append("stringListValues", .array([]))
                object.append("binaryListValues", .array([]))
                object.append("dataType", .string(attribute.dataType))
                messageAttributes.append(name, .object(object))
            }
            var record: JSONObject = [
                "messageId": .string(message.messageId), "receiptHandle": .string(message.receiptHandle), "body": .string(message.body),
                "attributes": .object(attributes), "messageAttributes": .object(messageAttributes),
            ]
            if let md5 = message.md5OfBody { record.append("md5OfBody", .string(md5)) }
            record.append("eventSource", "aws:sqs")
            record.append("eventSourceARN", .string(queueArn))
            record.append("awsRegion", .string(region))
            return .object(record)
        }
        return .object(["Records": .array(records)])
    }

    /// The message ids a partial-batch response reports as failed; nil when the response is not one
    /// Lambda accepts (then the whole batch fails). An empty or `null` response means all succeeded.
    package static func failedIdentifiers(_ bytes: [UInt8], batch: [SQSMessage]) -> Set<String>? {
        if bytes.isEmpty || bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A }) { return [] }
        guard let json = try? JSONParser.parse(bytes) else { return nil }
        if json.isNull { return [] }
        guard let object = json.objectValue else { return nil }
        guard let list = object["batchItemFailures"] else { return [] }
        if list.isNull { return [] }
        guard let items = list.arrayValue else { return nil }
        let ids = Set(batch.map(\.messageId))
        var failed = Set<String>()
        for item in items {
            // An empty, null or unknown identifier fails the whole batch.
            guard let id = item["itemIdentifier"]?.stringValue, ids.contains(id) else { return nil }
            failed.insert(id)
        }
        return failed
    }
}

extension FunctionSpec {
    var executableName: String { URL(fileURLWithPath: bootstrap).lastPathComponent }
}


