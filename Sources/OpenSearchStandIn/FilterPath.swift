import JSONCodec

/// The `filter_path` parameter: which parts of an answer are kept.
///
/// Patterns are comma-separated dotted paths. A segment `*` matches any one member name, `**` any
/// number of them (none included); other segments match a name exactly. Arrays do not take a
/// segment: their elements are filtered with the same path, and elements left empty are dropped,
/// as OpenSearch does (so `items.*.error` keeps only the failed items of a `_bulk` answer). A
/// member whose path a pattern matches in full is kept whole. Exclusions (`-path`) are refused.
struct FilterPath: Sendable, Hashable {
    /// How a path from the root fares.
    enum Match: Sendable, Hashable {
        /// Kept whole.
        case all
        /// Not kept itself, but something under it may be.
        case partial
        /// Dropped.
        case none
    }

    private let patterns: [[Substring]]

    /// - Throws: `OpenSearchFailure` (400) for an empty or excluding pattern.
    init(_ text: String) throws(OpenSearchFailure) {
        var patterns: [[Substring]] = []
        for pattern in text.split(separator: ",", omittingEmptySubsequences: true) {
            let trimmed = pattern.drop { $0 == " " }
            if trimmed.hasPrefix("-") {
                throw OpenSearchFailure.illegalArgument("filter_path exclusions are not supported by the stand-in: [\(trimmed)]")
            }
            let segments = trimmed.split(separator: ".", omittingEmptySubsequences: false)
            guard !segments.contains(where: \.isEmpty) else {
                throw OpenSearchFailure.illegalArgument("malformed filter_path pattern [\(trimmed)]")
            }
            patterns.append(segments)
        }
        guard !patterns.isEmpty else { throw OpenSearchFailure.illegalArgument("filter_path is empty") }
        self.patterns = patterns
    }

    /// How the member at `path` (names from the root, array levels left out) fares.
    func match(_ path: [String]) -> Match {
        var best = Match.none
        for pattern in patterns {
            switch Self.match(pattern[...], path[...]) {
            case .all: return .all
            case .partial: best = .partial
            case .none: break
            }
        }
        return best
    }

    private static func match(_ pattern: ArraySlice<Substring>, _ path: ArraySlice<String>) -> Match {
        guard let segment = pattern.first else { return .all }
        guard let name = path.first else { return .partial }
        if segment == "**" {
            // `**` takes no name, or this one and perhaps more.
            let skipped = match(pattern.dropFirst(), path)
            if skipped == .all { return .all }
            let taken = match(pattern, path.dropFirst())
            if taken == .all { return .all }
            return skipped == .partial || taken == .partial ? .partial : .none
        }
        guard segment == "*" || segment == name else { return .none }
        return match(pattern.dropFirst(), path.dropFirst())
    }

    /// `json` with only the parts the patterns keep; `{}` when nothing is kept.
    func apply(_ json: JSON) -> JSON {
        filter(json, path: []) ?? .object([:])
    }

    private func filter(_ value: JSON, path: [String]) -> JSON? {
        switch value {
        case .object(let object):
            var kept = JSONObject()
            for member in object {
                let memberPath = path + [member.key]
                switch match(memberPath) {
                case .all: kept[member.key] = member.value
                case .partial: if let inner = filter(member.value, path: memberPath) { kept[member.key] = inner }
                case .none: break
                }
            }
            return kept.isEmpty ? nil : .object(kept)
        case .array(let elements):
            let kept = elements.compactMap { filter($0, path: path) }
            return kept.isEmpty ? nil : .array(kept)
        default:
            // A scalar reached by a path that only partly matched: not kept.
            return nil
        }
    }
}
