import AWSClients
import AWSCore
package import FaultProxy
import Foundation
import HTTPTransport
import JSONCodec
import OpenSearchStandIn
import PipelineCore
import Primitives

/// The main command's options.
package struct LocalStackOptions: Sendable {
    package var seed: UInt64 = 42
    package var scale = 1
    /// Where logs and the OpenSearch data go (wiped at start).
    package var workDirectory = ".local-stack"
    /// Where the bootstraps are (default: beside this executable).
    package var binDirectory: String?
    /// Explicit bootstraps per function (tests: `probe-lambda` in every role).
    package var bootstraps: [FunctionKind: String] = [:]
    /// Extra environment for every bootstrap.
    package var extraEnvironment: [String: String] = [:]
    /// Function timeout; the queues' visibility timeout is six times it unless given.
    package var functionTimeoutSeconds = 10
    package var visibilityTimeoutSeconds: Int?
    /// The whole run must settle within this.
    package var maxSeconds = 300
    package var repositoryRoot: String?
    package var progressInterval: Duration = .seconds(2)
    /// Print progress and the summary.
    package var verbose = true
    /// Faults for this run: the handlers reach moto and OpenSearch through fault proxies, and the
    /// event source duplicates every message and kills some invocations.
    package var faults: ChaosSettings?
    /// `--chaos`: a clean run, then the same data with `faults`, and the two end states compared.
    package var chaos = false

    package init() {}

    /// Parses `local-stack` arguments.
    /// - Throws: `LocalStackError` `.usage`.
    package init(arguments: [String]) throws(LocalStackError) {
        var list = arguments[...]
        func value(_ flag: String) throws(LocalStackError) -> String {
            guard let next = list.popFirst() else { throw LocalStackError(.usage, "\(flag) needs a value") }
            return next
        }
        func number(_ flag: String, _ range: ClosedRange<Int>) throws(LocalStackError) -> Int {
            let text = try value(flag)
            guard let n = Int(text), range.contains(n) else {
                throw LocalStackError(.usage, "\(flag) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            return n
        }
        while let argument = list.popFirst() {
            switch argument {
            case "--seed":
                let text = try value(argument)
                guard let n = UInt64(text) else { throw LocalStackError(.usage, "--seed takes a whole number, not '\(text)'") }
                seed = n
            case "--scale": scale = try number(argument, 1...1000)
            case "--work-dir": workDirectory = try value(argument)
            case "--bin-dir": binDirectory = try value(argument)
            case "--function-timeout": functionTimeoutSeconds = try number(argument, 1...900)
            case "--visibility-timeout": visibilityTimeoutSeconds = try number(argument, 1...43_200)
            case "--max-seconds": maxSeconds = try number(argument, 10...86_400)
            case "--repo": repositoryRoot = try value(argument)
            case "--quiet": verbose = false
            case "--chaos":
                chaos = true
                faults = faults ?? ChaosSettings()
            case "--fault-rate", "--kill-rate":
                let text = try value(argument)
                guard let rate = Double(text), (0...1).contains(rate) else { throw LocalStackError(.usage, "\(argument) takes a share from 0 to 1, not '\(text)'") }
                var settings = faults ?? ChaosSettings()
                if argument == "--fault-rate" { settings.faultRate = rate } else { settings.killRate = rate }
                faults = settings
            case "--fault-seed":
                let text = try value(argument)
                guard let n = UInt64(text) else { throw LocalStackError(.usage, "--fault-seed takes a whole number, not '\(text)'") }
                var settings = faults ?? ChaosSettings()
                settings.seed = n
                faults = settings
            case "--bootstrap":
                let text = try value(argument)
                guard let equals = text.firstIndex(of: "="), let kind = FunctionKind(rawValue: String(text[..<equals])) else {
                    throw LocalStackError(.usage, "--bootstrap takes FUNCTION=PATH with FUNCTION one of dropbox, ingest, processing")
                }
                bootstraps[kind] = String(text[text.index(after: equals)...])
            case "--env":
                let text = try value(argument)
                guard let equals = text.firstIndex(of: "="), equals != text.startIndex else { throw LocalStackError(.usage, "--env takes NAME=VALUE") }
                extraEnvironment[String(text[..<equals])] = String(text[text.index(after: equals)...])
            default:
                throw LocalStackError(.usage, "unknown option \(argument)\n\(Self.usage)")
            }
        }
    }

    package static let usage = """
        usage: local-stack [--scale N] [--seed N] [--function-timeout S] [--visibility-timeout S] [--max-seconds S]
                           [--work-dir DIR] [--bin-dir DIR] [--bootstrap FUNCTION=PATH] [--env NAME=VALUE] [--repo DIR] [--quiet]
                           [--chaos [--fault-rate R] [--kill-rate R] [--fault-seed N]]

        Starts moto (signature checking on) and the OpenSearch stand-in, creates the template's resources, drops
        generated sample data into the dropbox bucket, runs each function's real bootstrap from its queue, and
        ends with a summary checked against the generated data (exit 1 on any mismatch).
        With --chaos: a clean run, then the same data again with the handlers behind fault proxies
        (--fault-rate of requests answered 500, 503 or throttled, reset mid-answer or stalled), every
        SQS message delivered twice and --kill-rate of invocations killed mid-work; the two end states
        must be equal (exit 1 otherwise).
        """
}

/// The faults of a chaos run.
package struct ChaosSettings: Sendable, Hashable {
    /// The share of the handlers' requests (to moto and to OpenSearch) that the proxies fault.
    package var faultRate = 0.1
    /// The share of invocations whose bootstrap is killed mid-work.
    package var killRate = 0.1
    /// Every SQS message is delivered twice.
    package var duplicateDeliveries = true
    package var seed: UInt64 = 1
    package var weights = FaultPlan.defaultWeights

    package init() {}
}

/// The result of a run.
package struct LocalStackReport: Sendable {
    package var sample: SampleData
    package var inventory: Inventory
    package var accounting: Accounting
    package var stages: Set<FunctionKind>
    package var missingStages: [FunctionKind: String]
    package var counters: [FunctionKind: RunnerCounters]
    package var expectedTables: [String: Int]
    package var seconds: Double
    package var settled: Bool
    package var endState: EndState
    /// Set when the run had faults.
    package var chaosFigures: ChaosFigures?

    package var passed: Bool { settled && accounting.passed && counters.values.allSatisfy { $0.givenUp == nil } }
}

/// The main command: the whole pipeline on loopback.
package struct LocalStackRun {
    package let options: LocalStackOptions
    package let output: @Sendable (String) -> Void

    package init(options: LocalStackOptions, output: @escaping @Sendable (String) -> Void = { print($0) }) {
        self.options = options
        self.output = output
    }

    package func run() async throws(LocalStackError) -> LocalStackReport {
        let started = ContinuousClock.now
        guard let root = options.repositoryRoot ?? Locations.repositoryRoot() ?? Locations.repositoryRoot(from: Locations.executableDirectory) else {
            throw LocalStackError(.launch, "cannot find the repository (scripts/moto_stack.py); run from it or pass --repo")
        }
        let work = URL(fileURLWithPath: options.workDirectory).standardizedFileURL
        try? FileManager.default.removeItem(at: work)
        do {
            try FileManager.default.createDirectory(at: work.appendingPathComponent("logs"), withIntermediateDirectories: true)
        } catch {
            throw LocalStackError(.launch, "cannot create \(work.path): \(error.localizedDescription)")
        }
        let layout = StackLayout()
        say("== starting moto (signature checking on) and the OpenSearch stand-in")
        let moto = try MotoProcess(script: root + "/scripts/moto_stack.py", region: layout.region)
        defer { moto.stop() }
        let openSearch: OpenSearchStandIn
        do {
            openSearch = try OpenSearchStandIn(
                OpenSearchStandInConfiguration(
                    region: layout.region, accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey,
                    dataDirectory: work.appendingPathComponent("opensearch").path))
        } catch {
            throw LocalStackError(.launch, "the OpenSearch stand-in did not start: \(error)")
        }
        defer { openSearch.stop() }
        say("moto at \(moto.endpoint), OpenSearch stand-in at \(openSearch.endpoint)")
        // With faults, the handlers (not the set-up, the event source or the summary) go through
        // the proxies: the event source plays Lambda, which is not faulted.
        var proxies: [FaultProxy] = []
        if let faults = options.faults {
            do {
                for (index, upstream) in [moto.endpoint, openSearch.endpoint].enumerated() {
                    let plan = FaultPlan(
                        rate: faults.faultRate, seed: faults.seed &+ UInt64(index), weights: faults.weights,
                        stall: .seconds(options.functionTimeoutSeconds + 1))
                    proxies.append(try FaultProxy(upstream: upstream, plan: plan))
                }
            } catch {
                throw LocalStackError(.launch, "\(error)")
            }
            say("fault proxies: moto behind \(proxies[0].endpoint), OpenSearch behind \(proxies[1].endpoint) (\(Int(faults.faultRate * 100))% of requests faulted, seed \(faults.seed))")
        }
        defer { for proxy in proxies { proxy.stop() } }
        let handlerAWSEndpoint = proxies.first?.endpoint ?? moto.endpoint
        let handlerOpenSearchEndpoint = proxies.last?.endpoint ?? openSearch.endpoint

        var environment = moto.awsEnvironment
        environment[OpenSearchClient.endpointVariable] = openSearch.endpoint
        let transport: CurlTransport
        do {
            transport = try CurlTransport()
        } catch {
            throw LocalStackError(.launch, "libcurl: \(error)")
        }
        let clients: PipelineClients
        do {
            clients = try await PipelineClients.make(environment: Environment(environment), transport: transport)
        } catch {
            throw LocalStackError(.launch, "AWS clients: \(error)")
        }
        let search: OpenSearchClient
        do {
            search = try OpenSearchClient(
                settings: clients.settings, credentials: clients.s3.client.credentials, transport: transport, quota: RetryQuota())
        } catch {
            throw LocalStackError(.launch, "OpenSearch client: \(error)")
        }

        // Resources.
        let specPath = root + "/infra/star-schema/totesys.json"
        let specText = try? String(contentsOfFile: specPath, encoding: .utf8)
        let specification = specText.flatMap { try? JSONParser.parse(Array($0.utf8)) }
        // With faults the queues turn faster: an invocation and its duplicate both end before the
        // message is visible again, so their claims have expired when it comes back.
        let visibility = options.visibilityTimeoutSeconds ?? (options.faults == nil ? options.functionTimeoutSeconds * 6 : options.functionTimeoutSeconds * 2 + 3)
        say("== creating the template's resources (visibility timeout \(visibility) s, function timeout \(options.functionTimeoutSeconds) s)")
        let queues = try await StackResources(layout: layout, clients: clients)
            .create(visibilityTimeout: visibility, datasets: SampleData.catalog, starSchema: specification.map { $0.text })

        // Bootstraps.
        let binDirectory = options.binDirectory ?? Locations.executableDirectory
        var runners: [FunctionKind: FunctionRunner] = [:]
        var missing: [FunctionKind: String] = [:]
        for function in layout.functions {
            let path = options.bootstraps[function] ?? binDirectory + "/" + function.executable
            guard Locations.isExecutable(path) else {
                missing[function] = "no bootstrap at \(path)"
                continue
            }
            if function == .processing, specification == nil, options.bootstraps[function] == nil {
                missing[function] = "no star-schema specification at \(specPath)"
                continue
            }
            var env = moto.awsEnvironment
            env["AWS_ENDPOINT_URL"] = handlerAWSEndpoint
            for (name, value) in layout.functionEnvironment(function, openSearchEndpoint: handlerOpenSearchEndpoint) { env[name] = value }
            env["AWS_LAMBDA_FUNCTION_NAME"] = "\(layout.prefix)-\(function.rawValue)"
            env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "512"
            env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST"
            env["AWS_LAMBDA_LOG_FORMAT"] = "JSON"
            env["TZ"] = ":UTC"
            // Locally: a short deadline margin for the short timeout, and a 1 KB dropbox sample
            // (so a file with bad rows past its first records is accepted and ingested PARTIAL).
            env["DEADLINE_MARGIN_MS"] = String(min(10_000, options.functionTimeoutSeconds * 250))
            env["DROPBOX_SAMPLE_KB"] = "1"
            for (name, value) in options.extraEnvironment { env[name] = value }
            var spec = FunctionSpec(
                kind: function, bootstrap: path, environment: env, queueURL: queues.url[function]!, queueArn: queues.arn[function]!,
                region: layout.region, functionArn: layout.functionArn(function), batchSize: function.batchSize,
                timeout: .seconds(options.functionTimeoutSeconds), logPath: work.appendingPathComponent("logs/\(function.rawValue).log").path)
            if let faults = options.faults {
                spec.chaos = DeliveryChaos(
                    duplicateDeliveries: faults.duplicateDeliveries, killRate: faults.killRate,
                    seed: faults.seed &+ 0x100 &+ UInt64(FunctionKind.allCases.firstIndex(of: function)!))
            }
            let runner = try FunctionRunner(spec: spec, sqs: clients.sqs)
            try runner.start()
            runners[function] = runner
        }
        for (function, why) in missing.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            say("!! the \(function.rawValue) stage will not run: \(why)")
        }
        defer { for runner in runners.values { runner.stop() } }

        // Data.
        let sample = SampleData.generate(seed: options.seed, scale: options.scale)
        say(
            "== dropping \(sample.files.count) files (\(sample.accepted.count) to accept with \(sample.totalRecords) records, \(sample.rejected.count) to reject) into s3://\(layout.dropboxBucket)/\(layout.dropboxPrefix)"
        )
        for file in sample.files {
            do {
                let key = layout.dropboxPrefix + file.name
                if file.multipart {
                    _ = try await S3MultipartUpload(
                        client: clients.s3, bucket: layout.dropboxBucket, key: key, settings: S3MultipartUpload.Settings(partSize: 5 << 20)
                    ).upload(HTTPBodyStream(bytes: file.body))
                } else {
                    _ = try await clients.s3.putObject(bucket: layout.dropboxBucket, key: key, body: file.body)
                }
            } catch {
                throw LocalStackError(.aws, "dropping \(file.name): \(error)")
            }
        }

        // Run until every running stage's queue stays empty.
        let tasks = runners.values.map { runner in Task { await runner.run() } }
        let settled = await waitUntilSettled(runners: runners, queues: queues, clients: clients, dropped: sample.files.count, started: started)
        for runner in runners.values { runner.stop() }
        for task in tasks { await task.value }
        if !settled {
            say("!! the pipeline did not settle within \(options.maxSeconds) s (see \(work.path)/logs)")
        }

        // Summary.
        let expectedTables = specification.map { sample.expectedTables(specification: $0) } ?? [:]
        let inventory = try await InventoryReader(
            layout: layout, clients: clients, openSearch: runners[.ingest] == nil ? nil : search, queues: queues
        ).read(expectedIndices: sample.documentsPerIndex.keys.sorted())
        let stages = Set(runners.keys)
        let accounting = Accounting(sample: sample, inventory: inventory, stages: stages, expectedTables: expectedTables)
        var documentIds: [String: Set<String>] = [:]
        for index in sample.documentsPerIndex.keys { documentIds[index] = openSearch.documentIDs(in: index) }
        var watermarks: [String: JSON] = [:]
        do {
            for parameter in try await clients.ssm.getAllParametersByPath(layout.watermarkPrefix, recursive: true) {
                watermarks[String(parameter.name.dropFirst(layout.watermarkPrefix.count))] = (try? JSONParser.parse(Array(parameter.value.utf8))) ?? .null
            }
        } catch {
            throw LocalStackError(.aws, "reading the watermarks: \(error)")
        }
        let counters = runners.mapValues(\.snapshot)
        let report = LocalStackReport(
            sample: sample, inventory: inventory, accounting: accounting, stages: stages, missingStages: missing,
            counters: counters, expectedTables: expectedTables,
            seconds: Double((ContinuousClock.now - started).components.seconds), settled: settled,
            endState: EndState(inventory: inventory, documentIds: documentIds, watermarks: watermarks),
            chaosFigures: proxies.isEmpty ? nil : ChaosFigures(proxies: proxies.map(\.stats).reduce(FaultProxyStats(), +), counters: Array(counters.values)))
        for line in SummaryRenderer.lines(report, layout: layout) { say(line) }
        return report
    }

    private func say(_ line: String) { if options.verbose { output(line) } }

    private func waitUntilSettled(
        runners: [FunctionKind: FunctionRunner], queues: QueueSet, clients: PipelineClients, dropped: Int, started: ContinuousClock.Instant
    ) async -> Bool {
        let limit = started + .seconds(options.maxSeconds)
        var quietPolls = 0
        var lastProgress = ContinuousClock.now
        while ContinuousClock.now < limit {
            try? await Task.sleep(for: .milliseconds(500))
            var inFlight: [String] = []
            var busy = false
            for function in FunctionKind.allCases {
                guard let runner = runners[function] else { continue }
                let depth = (try? await InventoryReader.depth(clients.sqs, queues.url[function]!)) ?? -1
                let counters = runner.snapshot
                if counters.givenUp == nil, depth != 0 || counters.running { busy = true }
                inFlight.append("\(function.rawValue) \(counters.invocations) inv/\(counters.messagesDeleted) ok/\(counters.messagesFailed + counters.invocationErrors) failed, queue \(depth)")
            }
            quietPolls = busy ? 0 : quietPolls + 1
            if ContinuousClock.now - lastProgress >= options.progressInterval {
                lastProgress = .now
                let elapsed = (ContinuousClock.now - started).components.seconds
                say("[\(elapsed)s] dropped \(dropped) · " + inFlight.joined(separator: " · "))
            }
            if quietPolls >= 4 { return true }
        }
        return false
    }
}
