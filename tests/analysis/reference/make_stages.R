# Reference results for finite-population corrections and two-stage designs
# (tests/analysis/test_stages.py). Run from this directory:  Rscript make_stages.R
# (R 4.2.2, survey 4.1.1 from Debian's r-base-core and r-cran-survey). Writes:
#   stages.csv            the test data (made here, with a fixed seed)
#   stages_reference.csv  one row per (config, indicator, domain, quantity); %.17g
#
# R is not a test dependency: the outputs are committed; re-run only to extend them.
suppressMessages(library(survey))
set.seed(20261130)
g17 <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

## 3 streets (strata). Buildings (PSUs) sampled from N_b per street; in S1 every building
## was taken (N_b = buildings sampled: a census of buildings). Households (SSUs) sampled
## from M_h per building; one building has a single sampled household (a lonely SSU);
## some households have two respondents. Communities (domains) cut across streets.
streets <- data.frame(street = c("S1", "S2", "S3"), n_b = c(4, 6, 5), N_b = c(4, 15, 40))
rows <- list()
for (s in seq_len(nrow(streets))) {
  for (b in seq_len(streets$n_b[s])) {
    building <- sprintf("%s-B%02d", streets$street[s], b)
    M <- sample(20:60, 1)
    m <- if (s == 2 && b == 1) 1 else sample(4:12, 1)
    rate <- runif(1, 0.85, 1)
    for (h in seq_len(m)) {
      k <- if (runif(1) < 0.2) 2 else 1
      rows[[length(rows) + 1]] <- data.frame(
        street = streets$street[s], building = building,
        household = sprintf("%s-H%02d", building, h),
        community = sample(c("C1", "C2", "C3"), 1),
        N_b = streets$N_b[s], M_h = M,
        w = (streets$N_b[s] / streets$n_b[s]) * (M / m),
        y1 = rbinom(k, 1, rate), y2 = rbinom(k, 1, 0.97),
        stringsAsFactors = FALSE)
    }
  }
}
d <- do.call(rbind, rows)
write.csv(d, "stages.csv", row.names = FALSE)
d <- read.csv("stages.csv", stringsAsFactors = FALSE)  # exactly what the tests read

out <- list()
add <- function(config, indicator, domain, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(config = config, indicator = indicator,
    domain = domain, quantity = quantity, value = g17(value), stringsAsFactors = FALSE)
}
describe <- function(config, des) {
  for (y in c("y1", "y2")) {
    f <- as.formula(paste0("~", y))
    for (dom in c("", "C1", "C2", "C3")) {
      sub <- if (dom == "") des else subset(des, community == dom)
      m <- svymean(f, sub)
      add(config, y, dom, "estimate", unname(coef(m)))
      add(config, y, dom, "se", unname(as.numeric(SE(m))))
      add(config, y, dom, "df", degf(sub))
    }
  }
}
for (lonely in c("adjust", "certainty")) {
  options(survey.lonely.psu = lonely)
  describe(paste0("one_stage_fpc_", lonely),
           svydesign(ids = ~building, strata = ~street, fpc = ~N_b, weights = ~w,
                     nest = TRUE, data = d))
  describe(paste0("two_stage_", lonely),
           svydesign(ids = ~building + household, strata = ~street, fpc = ~N_b + M_h,
                     weights = ~w, nest = TRUE, data = d))
}
ref <- do.call(rbind, out)
write.csv(ref, "stages_reference.csv", row.names = FALSE, quote = TRUE)
cat("wrote", nrow(ref), "reference values\n")
