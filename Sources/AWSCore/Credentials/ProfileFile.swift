/// The shared `credentials` and `config` files: INI sections of `key = value` lines.
package struct ProfileFile: Sendable, Hashable {
    /// Section name → keys (lower-cased) → values.
    package var sections: [String: [String: String]]

    /// Parses INI text. `#` and `;` start comments; continuation lines (indented) are appended to
    /// the previous value, as the AWS CLI does for nested settings.
    package init(parsing text: String) {
        var sections: [String: [String: String]] = [:]
        var current: String?
        var lastKey: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    current = nil
                    continue
                }
                let name = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmingSpaces
                current = String(name)
                lastKey = nil
                if sections[String(name)] == nil { sections[String(name)] = [:] }
                continue
            }
            guard let section = current else { continue }
            if line.first == " " || line.first == "\t", let lastKey {
                sections[section]?[lastKey, default: ""] += "\n" + trimmed
                continue
            }
            guard let equals = trimmed.firstIndex(of: "=") else { continue }
            let key = trimmed[..<equals].trimmingSpaces.lowercased()
            var value = trimmed[trimmed.index(after: equals)...].trimmingSpaces
            // Strip an inline comment that follows white space.
            if let hash = value.firstRange(of: " #") ?? value.firstRange(of: "\t#") {
                value = value[..<hash.lowerBound].trimmingSpaces
            }
            sections[section]?[key] = String(value)
            lastKey = key
        }
        self.sections = sections
    }

    /// The settings of `profile`: in a credentials file the section is `[name]`; in a config file
    /// `[profile name]`, or `[default]` for the default profile.
    package func profile(_ name: String, isConfigFile: Bool) -> [String: String]? {
        if isConfigFile {
            if let section = sections["profile \(name)"] { return section }
            return name == "default" ? sections["default"] : nil
        }
        return sections[name]
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !isSpace($0) }) else { return "" }
        let end = lastIndex(where: { !isSpace($0) })!
        return Substring(self[start...end])
    }
}
