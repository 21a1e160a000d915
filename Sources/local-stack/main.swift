// local-stack: the whole pipeline on loopback, the way Lambda runs it (see LocalStackRun).
import Foundation
import LocalStack

let options: LocalStackOptions
do {
    options = try LocalStackOptions(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("local-stack: \(error.message)\n".utf8))
    exit(2)
}
do {
    if options.chaos {
        let report = try await ChaosRun(options: options).run()
        exit(report.passed ? 0 : 1)
    }
    let report = try await LocalStackRun(options: options).run()
    exit(report.passed ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("local-stack: \(error)\n".utf8))
    exit(1)
}
