import JSONCodec
package import Primitives
import Synchronization

/// CloudWatch units for EMF metrics.
package enum MetricUnit: String, Sendable, Hashable {
    case count = "Count"
    case bytes = "Bytes"
    case milliseconds = "Milliseconds"
    case seconds = "Seconds"
    case none = "None"
}

/// Builds CloudWatch Embedded Metric Format documents.
package enum EMF {
    /// CloudWatch accepts at most 100 metrics per document and 100 values per metric.
    package static let maxMetricsPerDocument = 100
    package static let maxValuesPerMetric = 100

    package struct Metric: Sendable, Hashable {
        package var name: String
        package var unit: MetricUnit
        package var values: [Double]
        package init(name: String, unit: MetricUnit, values: [Double]) {
            self.name = name
            self.unit = unit
            self.values = values
        }
    }

    /// The documents for `metrics`, each a single JSON line: no document holds more than 100
    /// metrics, and a metric with more than 100 values continues in the next document.
    package static func documents(
        namespace: String, dimensions: [(String, String)], metrics: [Metric], timestamp: Timestamp
    ) -> [[UInt8]] {
        var rounds: [[(Metric, ArraySlice<Double>)]] = []
        for metric in metrics where !metric.values.isEmpty {
            var start = 0
            var round = 0
            while start < metric.values.count {
                let end = min(start + maxValuesPerMetric, metric.values.count)
                if rounds.count == round { rounds.append([]) }
                rounds[round].append((metric, metric.values[start..<end]))
                start = end
                round += 1
            }
        }
        var documents: [[UInt8]] = []
        for round in rounds {
            var index = 0
            while index < round.count {
                let group = round[index..<min(index + maxMetricsPerDocument, round.count)]
                documents.append(document(namespace: namespace, dimensions: dimensions, group: group, timestamp: timestamp))
                index += maxMetricsPerDocument
            }
        }
        return documents
    }

    private static func document(
        namespace: String, dimensions: [(String, String)], group: ArraySlice<(Metric, ArraySlice<Double>)>,
        timestamp: Timestamp
    ) -> [UInt8] {
        var definitions: [JSON] = []
        var root = JSONObject()
        for (metric, _) in group {
            definitions.append(.object(["Name": .string(metric.name), "Unit": .string(metric.unit.rawValue)]))
        }
        let directive: JSONObject = [
            "Namespace": .string(namespace),
            "Dimensions": .array([.array(dimensions.map { .string($0.0) })]),
            "Metrics": .array(definitions),
        ]
        root.append(
            "_aws",
            .object([
                "Timestamp": .number(timestamp.millisecondsSinceEpoch),
                "CloudWatchMetrics": .array([.object(directive)]),
            ]))
        for (name, value) in dimensions { root.append(name, .string(value)) }
        for (metric, values) in group {
            root.append(metric.name, values.count == 1 ? .number(values.first!) : .array(values.map { .number($0) }))
        }
        var out = JSON.object(root).bytes
        out.append(0x0A)
        return out
    }
}

/// Collects metrics during an invocation and writes them as EMF documents to the log sink when
/// flushed (at the end of each invocation, and on SIGTERM). Safe to use from any thread.
package final class MetricsRecorder: Sendable {
    package let namespace: String
    package let dimensions: [(String, String)]
    private let sink: any LogSink
    private let clock: any WallClock
    // Metrics in the order first recorded.
    private let pending = Mutex<[EMF.Metric]>([])

    package init(namespace: String, dimensions: [(String, String)], sink: any LogSink, clock: any WallClock = SystemClock()) {
        self.namespace = namespace
        self.dimensions = dimensions
        self.sink = sink
        self.clock = clock
    }

    /// Records one value of `name`.
    package func add(_ name: String, _ value: Double, unit: MetricUnit = .count) {
        pending.withLock { metrics in
            if let index = metrics.firstIndex(where: { $0.name == name }) {
                metrics[index].values.append(value)
            } else {
                metrics.append(EMF.Metric(name: name, unit: unit, values: [value]))
            }
        }
    }

    /// Adds `value` to the last value of `name` (or records it): a per-invocation counter.
    package func increment(_ name: String, by value: Double = 1, unit: MetricUnit = .count) {
        pending.withLock { metrics in
            if let index = metrics.firstIndex(where: { $0.name == name }) {
                metrics[index].values[metrics[index].values.count - 1] += value
            } else {
                metrics.append(EMF.Metric(name: name, unit: unit, values: [value]))
            }
        }
    }

    /// What is waiting to be flushed.
    package var pendingMetrics: [EMF.Metric] { pending.withLock { $0 } }

    /// Writes what was recorded as EMF documents and forgets it. Does nothing when empty.
    package func flush() {
        let metrics = pending.withLock { metrics -> [EMF.Metric] in
            defer { metrics.removeAll(keepingCapacity: true) }
            return metrics
        }
        guard !metrics.isEmpty else { return }
        for document in EMF.documents(namespace: namespace, dimensions: dimensions, metrics: metrics, timestamp: clock.now()) {
            sink.write(document)
        }
    }
}
