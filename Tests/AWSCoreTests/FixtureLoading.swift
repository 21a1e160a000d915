import Foundation

/// Reads a file under `Fixtures/`.
func fixture(_ path: String) throws -> [UInt8] {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil) else {
        throw FixtureMissing(path: path)
    }
    return Array(try Data(contentsOf: url))
}

func fixturePath(_ path: String) throws -> String {
    guard let url = Bundle.module.url(forResource: "Fixtures/\(path)", withExtension: nil) else {
        throw FixtureMissing(path: path)
    }
    return url.path
}

struct FixtureMissing: Error { let path: String }
