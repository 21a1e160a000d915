package import Parquet
import Primitives

/// The generated date dimension: one row per date, with its parts and names computed by hand
/// (no locale, no `DateFormatter`): `date_id, year, month, day, day_of_week (1 = Monday … 7 =
/// Sunday), day_name, month_name, quarter`.
package enum DateDimension {
    static let columns: [OutputColumn] = [
        OutputColumn(name: "date_id", source: .column("date_id"), type: .date, map: nil, required: true),
        OutputColumn(name: "year", source: .column("year"), type: .int32, map: nil, required: true),
        OutputColumn(name: "month", source: .column("month"), type: .int32, map: nil, required: true),
        OutputColumn(name: "day", source: .column("day"), type: .int32, map: nil, required: true),
        OutputColumn(name: "day_of_week", source: .column("day_of_week"), type: .int32, map: nil, required: true),
        OutputColumn(name: "day_name", source: .column("day_name"), type: .string, map: nil, required: true),
        OutputColumn(name: "month_name", source: .column("month_name"), type: .string, map: nil, required: true),
        OutputColumn(name: "quarter", source: .column("quarter"), type: .int32, map: nil, required: true),
    ]

    static let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    static let monthNames = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
        "December",
    ]

    /// 1 = Monday … 7 = Sunday (1970-01-01 was a Thursday).
    package static func dayOfWeek(_ days: Int32) -> Int {
        let shifted = (Int(days) + 3) % 7
        return (shifted < 0 ? shifted + 7 : shifted) + 1
    }

    /// The row of one date.
    package static func row(_ days: Int32) -> [ParquetValue] {
        let (year, month, day) = Timestamp.civil(fromDays: Int64(days))
        let weekday = dayOfWeek(days)
        return [
            .date(daysSinceEpoch: days), .int32(Int32(year)), .int32(Int32(month)), .int32(Int32(day)),
            .int32(Int32(weekday)), .string(dayNames[weekday - 1]), .string(monthNames[month - 1]),
            .int32(Int32((month - 1) / 3 + 1)),
        ]
    }
}
