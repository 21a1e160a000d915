// `opensearch-standin`: the OpenSearch stand-in as a process. Prints one JSON line
// {"endpoint": "...", "port": N} when ready; stops on SIGTERM/SIGINT or when stdin closes.
import Foundation
import OpenSearchStandIn

let usage = """
    usage: opensearch-standin [--port N] [--data-dir DIR] [--region R] [--service es|aoss]
                              [--access-key-id ID] [--secret-access-key-file FILE] [--no-auth]
                              [--reject-rate X] [--error-rate X] [--error-status N] [--item-reject-rate X]
                              [--fault-scope bulk|all] [--seed N]

    The access key and secret come from --access-key-id / --secret-access-key-file, else from
    OPENSEARCH_STANDIN_ACCESS_KEY_ID / OPENSEARCH_STANDIN_SECRET_ACCESS_KEY, else from
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. The secret is never printed.
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("opensearch-standin: \(message)\n".utf8))
    exit(2)
}

struct Options {
    var port = 0
    var dataDirectory: String?
    var region: String
    var service = "es"
    var accessKeyId: String?
    var secret: String?
    var verifies = true
    var faults = FaultSettings()

    init(_ argumentList: [String], environment: [String: String]) {
        region = environment["AWS_REGION"] ?? "us-east-1"
        accessKeyId = environment["OPENSEARCH_STANDIN_ACCESS_KEY_ID"] ?? environment["AWS_ACCESS_KEY_ID"]
        secret = environment["OPENSEARCH_STANDIN_SECRET_ACCESS_KEY"] ?? environment["AWS_SECRET_ACCESS_KEY"]
        var arguments = argumentList[...]
        func value(_ flag: String) -> String {
            guard let next = arguments.popFirst() else { fail("\(flag) needs a value") }
            return next
        }
        func rate(_ flag: String) -> Double {
            guard let number = Double(value(flag)), (0...1).contains(number) else { fail("\(flag) needs a number from 0 to 1") }
            return number
        }
        while let argument = arguments.popFirst() {
            switch argument {
            case "--port":
                guard let number = Int(value(argument)), (0...65535).contains(number) else { fail("--port needs a port number") }
                port = number
            case "--data-dir": dataDirectory = value(argument)
            case "--region": region = value(argument)
            case "--service":
                service = value(argument)
                guard service == "es" || service == "aoss" else { fail("--service must be es or aoss") }
            case "--access-key-id": accessKeyId = value(argument)
            case "--secret-access-key-file":
                let path = value(argument)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { fail("cannot read \(path)") }
                secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            case "--no-auth": verifies = false
            case "--reject-rate": faults.requestRejectionRate = rate(argument)
            case "--error-rate": faults.requestErrorRate = rate(argument)
            case "--error-status":
                guard let status = Int(value(argument)), (500...599).contains(status) else { fail("--error-status needs a 5xx status") }
                faults.errorStatus = status
            case "--item-reject-rate": faults.itemRejectionRate = rate(argument)
            case "--fault-scope":
                guard let scope = FaultSettings.Scope(rawValue: value(argument)) else { fail("--fault-scope must be bulk or all") }
                faults.scope = scope
            case "--seed":
                guard let seed = UInt64(value(argument)) else { fail("--seed needs a whole number") }
                faults.seed = seed
            case "--help", "-h":
                print(usage)
                exit(0)
            default:
                fail("unknown option \(argument)\n\(usage)")
            }
        }
        if verifies, accessKeyId == nil || secret == nil {
            fail("signature checking needs an access key and secret (flags or environment), or --no-auth")
        }
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
let standIn: OpenSearchStandIn
do {
    standIn = try OpenSearchStandIn(
        OpenSearchStandInConfiguration(
            region: options.region, service: options.service, accessKeyId: options.accessKeyId ?? "",
            secretAccessKey: options.secret ?? "", verifiesSignatures: options.verifies, dataDirectory: options.dataDirectory,
            faults: options.faults),
        port: options.port)
} catch {
    fail("cannot start: \(error)")
}

signal(SIGTERM) { _ in _exit(0) }
signal(SIGINT) { _ in _exit(0) }
signal(SIGPIPE, SIG_IGN)
print(#"{"endpoint": "\#(standIn.endpoint)", "port": \#(standIn.port)}"#)
fflush(nil)

// Stop when whoever started us goes away (stdin closes), like scripts/moto_stack.py.
while true {
    let data = FileHandle.standardInput.availableData
    if data.isEmpty { break }
}
standIn.stop()
exit(0)
