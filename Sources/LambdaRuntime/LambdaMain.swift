#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
package import HTTPTransport
import JSONCodec
package import Primitives

/// Where the entry point reads and writes; tests swap in memory.
package struct RuntimeIO: Sendable {
    /// Log lines and EMF documents inside Lambda (standard output, which Lambda sends to CloudWatch).
    package var lambdaLogs: any LogSink
    /// Log lines and EMF documents in replay (standard error).
    package var replayLogs: any LogSink
    /// The replayed handler's response, help text.
    package var output: any LogSink
    /// Usage errors.
    package var errorOutput: any LogSink
    /// Reads all of standard input (`--event -`).
    package var readStandardInput: @Sendable () throws(LambdaRuntimeError) -> [UInt8]

    package init(
        lambdaLogs: any LogSink, replayLogs: any LogSink, output: any LogSink, errorOutput: any LogSink,
        readStandardInput: @escaping @Sendable () throws(LambdaRuntimeError) -> [UInt8]
    ) {
        self.lambdaLogs = lambdaLogs
        self.replayLogs = replayLogs
        self.output = output
        self.errorOutput = errorOutput
        self.readStandardInput = readStandardInput
    }

    package static let standard = RuntimeIO(
        lambdaLogs: FileDescriptorSink.standardOutput, replayLogs: FileDescriptorSink.standardError,
        output: FileDescriptorSink.standardOutput, errorOutput: FileDescriptorSink.standardError,
        readStandardInput: { () throws(LambdaRuntimeError) -> [UInt8] in
            do {
                return try FileIO.read("/dev/stdin", limit: 64 << 20)
            } catch {
                throw LambdaRuntimeError(.unreadableEvent, "cannot read the event from standard input: \(error)")
            }
        })
}

/// The entry point of every bootstrap: decides between local replay (`--event FILE`), the Runtime
/// API loop (`AWS_LAMBDA_RUNTIME_API`) and a usage error, runs the handler's init once, then serves.
package enum LambdaMain {
    /// Exit statuses.
    package static let exitHandlerError: Int32 = 1
    package static let exitInitError: Int32 = 1
    package static let exitUsage: Int32 = 2

    /// Runs the process: never returns. SIGTERM flushes logs and metrics, then exits 0.
    package static func run<Handler: LambdaHandler>(
        name: String, makeHandler: @escaping @Sendable (InitContext) async throws -> Handler
    ) async -> Never {
        let status = await main(
            name: name, arguments: Array(CommandLine.arguments.dropFirst()), environment: .process(),
            installTerminationHandler: true, makeHandler: makeHandler)
        exit(status)
    }

    /// What the command line asks for.
    package enum Mode: Sendable, Hashable {
        case help
        case replay(eventPath: String, timeout: Duration)
        case lambda
        case usageError(String)
    }

    package static func mode(arguments: [String], environment: Environment) -> Mode {
        var eventPath: String?
        var timeout: Duration = .seconds(60)
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            switch argument {
            case "--help", "-h": return .help
            case "--event":
                guard let path = rest.popFirst() else { return .usageError("--event needs a file name (or - for standard input)") }
                eventPath = path
            case "--timeout":
                guard let text = rest.popFirst(), let seconds = Double(text), seconds > 0, seconds <= 86_400 else {
                    return .usageError("--timeout needs a number of seconds")
                }
                timeout = .milliseconds(Int64(seconds * 1000))
            default:
                return .usageError("unknown argument \(argument)")
            }
        }
        if let eventPath { return .replay(eventPath: eventPath, timeout: timeout) }
        if environment["AWS_LAMBDA_RUNTIME_API"] != nil { return .lambda }
        return .usageError("neither --event nor AWS_LAMBDA_RUNTIME_API is set")
    }

    package static func usage(_ name: String) -> String {
        """
        usage: \(name) --event FILE [--timeout SECONDS]
               \(name) --event - [--timeout SECONDS]     (event JSON on standard input)

        A Lambda custom runtime (bootstrap). Inside Lambda (AWS_LAMBDA_RUNTIME_API set) it serves
        invocations from the Runtime API. With --event it runs the handler once, outside Lambda,
        with a synthetic context whose deadline is --timeout seconds away (default 60): the
        handler's response JSON goes to standard output, logs to standard error; the exit status
        is 0 on success and 1 on a handler or init error.

        Settings: AWS_LAMBDA_LOG_FORMAT (JSON or Text), AWS_LAMBDA_LOG_LEVEL, METRICS_NAMESPACE,
        plus the AWS settings the handler needs (AWS_REGION, credentials, AWS_ENDPOINT_URL…).

        """
    }

    /// Runs the process's logic and returns its exit status. Tests call it in-process with
    /// their own IO, transport and a number of invocations to serve.
    package static func main<Handler: LambdaHandler>(
        name: String,
        arguments: [String],
        environment: Environment,
        io: RuntimeIO = .standard,
        transport: (any HTTPTransport)? = nil,
        clock: any WallClock = SystemClock(),
        maxInvocations: Int? = nil,
        installTerminationHandler: Bool = false,
        makeHandler: @Sendable (InitContext) async throws -> Handler
    ) async -> Int32 {
        let mode = mode(arguments: arguments, environment: environment)
        switch mode {
        case .help:
            io.output.write(Array(usage(name).utf8))
            return 0
        case .usageError(let message):
            io.errorOutput.write(Array("\(name): \(message)\n\n\(usage(name))".utf8))
            return exitUsage
        case .replay, .lambda:
            break
        }
        let inLambda = mode == .lambda
        let logSink = inLambda ? io.lambdaLogs : io.replayLogs
        let redactor = Redactor(environment: environment)

        // Configuration, read once.
        let configuration: RuntimeConfiguration
        do {
            configuration = try RuntimeConfiguration(environment: environment, defaultName: name)
        } catch {
            let logger = Logger(sink: logSink, redactor: redactor, clock: clock)
            return await failInit(error, logger: logger, runtimeAPI: inLambda ? environment["AWS_LAMBDA_RUNTIME_API"] : nil, transport: transport)
        }
        let logger = Logger(
            level: configuration.logLevel, format: configuration.logFormat, sink: logSink, redactor: redactor, clock: clock,
            metadata: ["function": .string(configuration.functionName)])
        let metrics = MetricsRecorder(
            namespace: configuration.metricsNamespace, dimensions: [("function_name", configuration.functionName)],
            sink: logSink, clock: clock)
        if installTerminationHandler {
            TerminationWatcher.install {
                metrics.flush()
                logger.info("SIGTERM received: logs and metrics flushed, exiting")
            }
        }
        let http: any HTTPTransport
        if let transport {
            http = transport
        } else {
            do {
                http = try CurlTransport()
            } catch {
                logger.fatal("cannot start the HTTP transport", ["error": .string(error.description)])
                return exitInitError
            }
        }

        // The handler's own set-up.
        let handler: Handler
        do {
            handler = try await makeHandler(
                InitContext(
                    environment: environment, configuration: configuration, logger: logger, metrics: metrics,
                    transport: http, clock: clock))
        } catch {
            return await failInit(error, logger: logger, runtimeAPI: inLambda ? configuration.runtimeAPI : nil, transport: http)
        }

        let runner = InvocationRunner(handler: handler, logger: logger, metrics: metrics, clock: clock)
        switch mode {
        case .replay(let path, let timeout):
            return await replay(path: path, timeout: timeout, configuration: configuration, io: io, runner: runner)
        default:
            let client = RuntimeAPIClient(runtimeAPI: configuration.runtimeAPI!, transport: http)
            return await loop(client: client, configuration: configuration, runner: runner, maxInvocations: maxInvocations)
        }
    }

    /// Logs an init failure, posts it to `/runtime/init/error` inside Lambda, and returns the status.
    private static func failInit(
        _ error: any Error, logger: Logger, runtimeAPI: String?, transport: (any HTTPTransport)?
    ) async -> Int32 {
        var report = ErrorReport(error)
        if !(error is any LambdaReportableError) { report = ErrorReport(errorType: "Runtime.InitError", errorMessage: report.errorMessage) }
        report.errorMessage = logger.redactor.scrubText(report.errorMessage)
        logger.fatal(
            "initialisation failed", ["errorType": .string(report.errorType), "errorMessage": .string(report.errorMessage)])
        if let runtimeAPI {
            let http: any HTTPTransport
            if let transport {
                http = transport
            } else if let curl = try? CurlTransport() {
                http = curl
            } else {
                return exitInitError
            }
            do {
                try await RuntimeAPIClient(runtimeAPI: runtimeAPI, transport: http).reportInitError(report)
            } catch {
                logger.error("could not post the init error", ["error": .string(error.description)])
            }
        }
        return exitInitError
    }

    // MARK: Replay

    private static func replay<Handler: LambdaHandler>(
        path: String, timeout: Duration, configuration: RuntimeConfiguration, io: RuntimeIO, runner: InvocationRunner<Handler>
    ) async -> Int32 {
        let event: [UInt8]
        do throws(LambdaRuntimeError) {
            if path == "-" {
                event = try io.readStandardInput()
            } else {
                do {
                    event = try FileIO.read(path, limit: 64 << 20)
                } catch {
                    throw LambdaRuntimeError(.unreadableEvent, "cannot read the event file: \(error)")
                }
            }
        } catch {
            io.errorOutput.write(Array("\(configuration.functionName): \(error.message)\n".utf8))
            return exitUsage
        }
        let now = runner.clock.now()
        let region = configuration.region ?? "us-east-1"
        let invocation = Invocation(
            requestId: "replay-" + randomHex(16), deadline: now.adding(milliseconds: timeout.milliseconds),
            invokedFunctionArn: "arn:aws:lambda:\(region):000000000000:function:\(configuration.functionName)",
            traceId: "Root=1-\(String(now.secondsSinceEpoch, radix: 16))-\(randomHex(24));Parent=\(randomHex(16));Sampled=0",
            event: event)
        switch await runner.run(invocation) {
        case .success(let response):
            io.output.write(response + [0x0A])
            return 0
        case .failure(let report):
            io.output.write(report.json.bytes + [0x0A])
            return exitHandlerError
        }
    }

    private static func randomHex(_ digits: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<(digits + 1) / 2 { bytes.append(UInt8.random(in: 0...255, using: &generator)) }
        return String(Hex.encode(bytes).prefix(digits))
    }

    // MARK: The Runtime API loop

    private static func loop<Handler: LambdaHandler>(
        client: RuntimeAPIClient, configuration: RuntimeConfiguration, runner: InvocationRunner<Handler>, maxInvocations: Int?
    ) async -> Int32 {
        var served = 0
        var consecutiveFailures = 0
        while maxInvocations.map({ served < $0 }) ?? true {
            let next: RuntimeAPIClient.Next
            do {
                next = try await client.next(maxEventBytes: configuration.maxEventBytes)
                consecutiveFailures = 0
            } catch {
                consecutiveFailures += 1
                runner.logger.error("GET next failed", ["error": .string(error.description), "attempt": .number(consecutiveFailures)])
                if consecutiveFailures >= 5 {
                    runner.logger.fatal("the Runtime API is unreachable: exiting")
                    runner.metrics.flush()
                    return 1
                }
                try? await Task.sleep(for: .milliseconds(50 * consecutiveFailures))
                continue
            }
            served += 1
            switch next {
            case .eventTooLarge(let requestId, let size):
                let report = ErrorReport(
                    LambdaRuntimeError(
                        .eventTooLarge, "the event (\(size) bytes) exceeds the \(configuration.maxEventBytes)-byte limit"))
                runner.logger.error(
                    "event too large", ["requestId": .string(requestId), "bytes": .number(size)])
                await post(client, logger: runner.logger) { () throws(LambdaRuntimeError) in
                    try await client.reportError(requestId: requestId, report)
                }
            case .invocation(let invocation):
                setTraceEnvironment(invocation.traceId)
                let outcome = await runner.run(invocation)
                await post(client, logger: runner.logger) { () throws(LambdaRuntimeError) in
                    switch outcome {
                    case .success(let response): try await client.respond(requestId: invocation.requestId, body: response)
                    case .failure(let report): try await client.reportError(requestId: invocation.requestId, report)
                    }
                }
            }
        }
        return 0
    }

    private static func post(
        _ client: RuntimeAPIClient, logger: Logger, _ body: () async throws(LambdaRuntimeError) -> Void
    ) async {
        do {
            try await body()
        } catch {
            logger.error("the Runtime API did not accept the result", ["errorType": .string(error.lambdaErrorType), "error": .string(error.message)])
        }
    }

    private static func setTraceEnvironment(_ traceId: String?) {
        if let traceId {
            setenv("_X_AMZN_TRACE_ID", traceId, 1)
        } else {
            unsetenv("_X_AMZN_TRACE_ID")
        }
    }
}

/// Runs one invocation: builds its context, calls the handler, records `Duration` and `ColdStart`,
/// and flushes the metrics.
package final class InvocationRunner<Handler: LambdaHandler>: @unchecked Sendable {
    // `isColdStart` is only touched by the loop's one task, one invocation at a time.
    package let handler: Handler
    package let logger: Logger
    package let metrics: MetricsRecorder
    package let clock: any WallClock
    private var isColdStart = true

    package init(handler: Handler, logger: Logger, metrics: MetricsRecorder, clock: any WallClock) {
        self.handler = handler
        self.logger = logger
        self.metrics = metrics
        self.clock = clock
    }

    package func run(_ invocation: Invocation) async -> Result<[UInt8], ErrorReport> {
        let cold = isColdStart
        isColdStart = false
        var invocationLogger = logger.with("requestId", .string(invocation.requestId))
        if let traceId = invocation.traceId { invocationLogger = invocationLogger.with("traceId", .string(traceId)) }
        invocationLogger = invocationLogger.with("coldStart", .bool(cold))
        let context = LambdaContext(
            requestId: invocation.requestId, deadline: invocation.deadline, invokedFunctionArn: invocation.invokedFunctionArn,
            traceId: invocation.traceId, clientContext: invocation.clientContext, cognitoIdentity: invocation.cognitoIdentity,
            isColdStart: cold, logger: invocationLogger, metrics: metrics, clock: clock)
        let start = ContinuousClock.now
        let result: Result<[UInt8], ErrorReport>
        do {
            result = .success(try await handler.handle(invocation.event, context: context))
        } catch {
            var report = ErrorReport(error)
            report.errorMessage = logger.redactor.scrubText(report.errorMessage)
            invocationLogger.error(
                "the handler failed", ["errorType": .string(report.errorType), "errorMessage": .string(report.errorMessage)])
            result = .failure(report)
        }
        let elapsed = start.duration(to: .now)
        metrics.add("Duration", Double(elapsed.nanoseconds) / 1_000_000, unit: .milliseconds)
        if cold { metrics.add("ColdStart", 1) }
        metrics.flush()
        return result
    }
}

extension Redactor {
    /// `text` with every known secret masked.
    package func scrubText(_ text: String) -> String { String(decoding: scrub(Array(text.utf8)), as: UTF8.self) }
}

