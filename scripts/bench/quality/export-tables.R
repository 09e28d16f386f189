# Exports the real public tables of `npm run bench -- quality` to data/tables/<name>/{train,eval}.csv.
#
#   Rscript scripts/bench/quality/export-tables.R <vega-datasets package dir> <out dir>
#
# Run through export-tables.sh, which installs the Debian packages and fetches vega-datasets.
# Nothing here is made up: every cell comes from the source table, renamed or reformatted only
# (dates to ISO 8601 text; a few columns dropped, as listed per table). CSV: header row, comma
# separated, a missing value is an EMPTY cell (and only that: a string such as "NA" or
# "Unknown" is a category), fields quoted only when they contain a comma, quote or newline.
# Split: a fixed seeded 80/20 train/eval split per table (R's Mersenne-Twister, Inversion,
# Rejection sampling; set.seed(SEED) right before the table's sample() call), by row unless a
# table says by group. Rows keep their source order within each file.
suppressPackageStartupMessages({
  library(jsonlite)
})
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: Rscript export-tables.R <vega-datasets package dir> <out dir>")
vega <- args[[1]]
out <- args[[2]]
SEED <- 20240601L
EVAL_FRACTION <- 0.2
RNGkind("Mersenne-Twister", "Inversion", "Rejection")

csv_field <- function(x) {
  if (inherits(x, "POSIXct")) x <- format(x, "%Y-%m-%d %H:%M:%S", tz = attr(x, "tzone") %||% "UTC")
  if (inherits(x, "Date")) x <- format(x, "%Y-%m-%d")
  if (is.factor(x)) x <- as.character(x)
  if (is.logical(x)) x <- ifelse(x, "true", "false")
  if (is.numeric(x)) {
    s <- format(x, scientific = FALSE, trim = TRUE, digits = 15, drop0trailing = TRUE)
  } else {
    s <- as.character(x)
    if (any(!is.na(s) & s == "")) stop("an empty string would read as missing")
    q <- !is.na(s) & grepl("[,\"\r\n]", s)
    s[q] <- paste0("\"", gsub("\"", "\"\"", s[q]), "\"")
  }
  s[is.na(x)] <- ""
  s
}
`%||%` <- function(a, b) if (is.null(a) || identical(a, "")) b else a

write_table_csv <- function(df, path) {
  cols <- lapply(df, csv_field)
  lines <- do.call(paste, c(cols, sep = ","))
  con <- file(path, "wb")
  writeLines(paste(names(df), collapse = ","), con, sep = "\n")
  writeLines(lines, con, sep = "\n")
  close(con)
}

# Eval rows: a seeded sample of 20% of the rows, or of the groups when `group` is given.
export <- function(name, df, group = NULL) {
  df <- as.data.frame(df, stringsAsFactors = FALSE)
  rownames(df) <- NULL
  set.seed(SEED)
  if (is.null(group)) {
    n <- nrow(df)
    is_eval <- seq_len(n) %in% sample.int(n, round(EVAL_FRACTION * n))
  } else {
    g <- unique(group)
    is_eval <- group %in% g[sample.int(length(g), round(EVAL_FRACTION * length(g)))]
  }
  dir.create(file.path(out, name), recursive = TRUE, showWarnings = FALSE)
  write_table_csv(df[!is_eval, , drop = FALSE], file.path(out, name, "train.csv"))
  write_table_csv(df[is_eval, , drop = FALSE], file.path(out, name, "eval.csv"))
  cat(sprintf("%-12s %6d rows (%d train, %d eval), %2d columns, %d empty cells\n", name, nrow(df), sum(!is_eval), sum(is_eval), ncol(df), sum(is.na(df))))
}

# storms (regression, label pressure): NOAA HURDAT2 Atlantic storm tracks, as shipped in dplyr.
# One row per storm per 6 hours. year/month/day/hour become one `time` column (UTC); split by
# storm (name + year) so that no storm is in both files.
s <- dplyr::storms
storms <- data.frame(
  time = format(ISOdatetime(s$year, s$month, s$day, s$hour, 0, 0, tz = "UTC"), "%Y-%m-%d %H:%M:%S"),
  name = s$name, lat = s$lat, long = s$long, status = s$status, category = as.character(s$category),
  wind = s$wind, tropicalstorm_force_diameter = s$tropicalstorm_force_diameter,
  hurricane_force_diameter = s$hurricane_force_diameter, pressure = s$pressure,
  stringsAsFactors = FALSE
)
export("storms", storms, group = paste(s$name, s$year))

# earthquakes (regression, label mag): USGS "all earthquakes, past week" GeoJSON feed as shipped
# in vega-datasets. Dropped: sig (computed from mag), title (contains mag), place (free text),
# url, detail, code, ids, sources, types (identifiers and lists), updated (a second timestamp).
eq <- fromJSON(file.path(vega, "data", "earthquakes.json"))$features
p <- eq$properties
xyz <- do.call(rbind, eq$geometry$coordinates)
earthquakes <- data.frame(
  time = format(as.POSIXct(p$time / 1000, origin = "1970-01-01", tz = "UTC"), "%Y-%m-%d %H:%M:%S"),
  tz = p$tz, felt = p$felt, cdi = p$cdi, mmi = p$mmi, alert = p$alert, status = p$status,
  tsunami = p$tsunami, net = p$net, nst = p$nst, dmin = p$dmin, rms = p$rms, gap = p$gap,
  magType = p$magType, type = p$type, longitude = xyz[, 1], latitude = xyz[, 2], depth = xyz[, 3],
  mag = p$mag,
  stringsAsFactors = FALSE
)
export("earthquakes", earthquakes)

# mpls_stops (binary classification, label problem: suspicious / traffic): Minneapolis police
# stops in 2017, as shipped in carData. `date` is local time (America/Chicago) as stored.
# Dropped: idNum (a unique id).
m <- carData::MplsStops
mpls <- data.frame(
  time = format(m$date, "%Y-%m-%d %H:%M:%S", tz = "America/Chicago"),
  MDC = m$MDC, citationIssued = m$citationIssued, personSearch = m$personSearch,
  vehicleSearch = m$vehicleSearch, preRace = m$preRace, race = m$race, gender = m$gender,
  lat = m$lat, long = m$long, policePrecinct = m$policePrecinct, neighborhood = m$neighborhood,
  problem = m$problem,
  stringsAsFactors = FALSE
)
export("mpls_stops", mpls)

# birdstrikes (multiclass classification, label phase: phase of flight, 7 classes): FAA wildlife
# strike reports as shipped in vega-datasets (10,000 rows). Columns renamed to snake_case.
b <- read.csv(file.path(vega, "data", "birdstrikes.csv"), check.names = FALSE, na.strings = "", stringsAsFactors = FALSE)
birdstrikes <- data.frame(
  flight_date = b[["Flight Date"]], airport = b[["Airport Name"]], aircraft = b[["Aircraft Make Model"]],
  damage = b[["Effect Amount of damage"]], operator = b[["Aircraft Airline Operator"]],
  origin_state = b[["Origin State"]], wildlife_size = b[["Wildlife Size"]],
  wildlife_species = b[["Wildlife Species"]], time_of_day = b[["Time of day"]],
  cost_other = b[["Cost Other"]], cost_repair = b[["Cost Repair"]], cost_total = b[["Cost Total $"]],
  speed_knots = b[["Speed IAS in knots"]], phase = b[["Phase of flight"]],
  stringsAsFactors = FALSE
)
export("birdstrikes", birdstrikes)

# flights (regression, label delay: arrival delay in minutes): US domestic flights of 2001 as
# shipped in vega-datasets' flights-200k.json (delay, distance in miles, time = hour of
# departure as a decimal). A seeded sample of 62,500 of the 200,000 rows (50,000 train, 12,500
# eval), so the bench has a table of the size the time budget is stated for.
f <- fromJSON(file.path(vega, "data", "flights-200k.json"))
set.seed(SEED)
f <- f[sort(sample.int(nrow(f), 62500)), c("time", "distance", "delay")]
names(f)[names(f) == "time"] <- "hour"
export("flights", f)
