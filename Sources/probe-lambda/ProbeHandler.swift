import AWSCore
import JSONCodec
import LambdaRuntime
import Primitives

/// Test behaviours, read once at init from the environment:
/// - `PROBE_FAIL_KEYS`: comma-separated substrings; an object whose key contains one fails.
/// - `PROBE_SLEEP_MS`: time spent on each object.
/// - `PROBE_THROW`: any value makes every invocation fail with `Function.ProbeFailure`.
/// - `PROBE_SAFETY_MARGIN_MS`: the batch helper's safety margin (default 2000).
struct ProbeSettings: Sendable {
    var failKeys: [String]
    var sleep: Duration
    var throwMessage: String?
    var safetyMargin: Duration

    init(environment env: Environment) throws(LambdaRuntimeError) {
        failKeys = (env["PROBE_FAIL_KEYS"] ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
        sleep = .milliseconds(try Self.milliseconds(env, "PROBE_SLEEP_MS", default: 0))
        throwMessage = env["PROBE_THROW"]
        safetyMargin = .milliseconds(try Self.milliseconds(env, "PROBE_SAFETY_MARGIN_MS", default: 2000))
    }

    private static func milliseconds(_ env: Environment, _ name: String, default value: Int) throws(LambdaRuntimeError) -> Int {
        guard let text = env[name] else { return value }
        guard let number = Int(text), number >= 0 else {
            throw LambdaRuntimeError(.invalidConfiguration, "\(name) must be a whole number of milliseconds, not '\(text)'")
        }
        return number
    }
}

struct ProbeFailure: LambdaReportableError, CustomStringConvertible {
    var description: String
    var lambdaErrorType: String { "Function.ProbeFailure" }
}

/// The AWS clients a pipeline handler builds at init.
struct ProbeClients: Sendable {
    var s3: AWSClient
    var sqs: AWSClient
    var dynamoDB: AWSClient
}

/// Handles one created object: sleeps, then fails when its key matches `PROBE_FAIL_KEYS`.
struct ProbeObjectHandler: S3ObjectHandler {
    let settings: ProbeSettings
    let clients: ProbeClients

    func handle(_ object: S3EventRecord, message: SQSRecord, context: LambdaContext) async throws {
        if settings.sleep > .zero { try await Task.sleep(for: settings.sleep) }
        if let match = settings.failKeys.first(where: { object.key.contains($0) }) {
            throw ProbeFailure(description: "key \(object.key) matches PROBE_FAIL_KEYS entry '\(match)'")
        }
        context.logger.info(
            "object handled",
            [
                "messageId": .string(message.messageId), "bucket": .string(object.bucketName), "key": .string(object.key),
                "size": object.size.map { .number($0) } ?? .null, "eTag": object.eTag.map(JSON.string) ?? .null,
            ])
    }
}

/// The probe's Lambda handler: the SQS-of-S3 batch helper, plus a per-record summary log line.
struct ProbeHandler: LambdaHandler {
    let batch: SQSS3BatchHandler<ProbeObjectHandler>
    let settings: ProbeSettings

    func handle(_ event: [UInt8], context: LambdaContext) async throws -> [UInt8] {
        if let message = settings.throwMessage { throw ProbeFailure(description: message) }
        let sqs = try SQSEvent(bytes: event)
        let result = await batch.handleBatch(sqs, context: context)
        if !result.records.isEmpty {
            context.logger.info(
                "batch results",
                [
                    "results": .array(
                        result.records.map { .object(["messageId": .string($0.messageId), "status": .string($0.statusName)]) })
                ])
        }
        return result.response.bytes
    }

    /// The init phase: settings, credentials and clients, built once.
    static func make(_ context: InitContext) async throws -> ProbeHandler {
        let settings = try ProbeSettings(environment: context.environment)
        let aws = try AWSSettings(environment: context.environment)
        let credentials = try await CredentialChain.resolve(settings: aws, transport: context.transport, clock: context.clock)
        let quota = RetryQuota()
        let clients = ProbeClients(
            s3: try AWSClient(service: .s3, settings: aws, credentials: credentials, transport: context.transport, quota: quota),
            sqs: try AWSClient(service: .sqs, settings: aws, credentials: credentials, transport: context.transport, quota: quota),
            dynamoDB: try AWSClient(
                service: .dynamoDB, settings: aws, credentials: credentials, transport: context.transport, quota: quota)
        )
        context.logger.debug("probe initialised", ["region": .string(aws.region)])
        return ProbeHandler(
            batch: SQSS3BatchHandler(
                ProbeObjectHandler(settings: settings, clients: clients),
                processor: SQSBatchProcessor(safetyMargin: settings.safetyMargin)),
            settings: settings)
    }
}
