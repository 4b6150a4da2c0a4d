# Reference results from R's survey package for tests/app/test_waves_reference.py:
# every design a wave can be drawn with, estimated as the app does (fieldwork/design.py).
#
# Run from this directory:  Rscript make_waves_reference.R
# (survey 4.1.1 from Debian's r-cran-survey). Writes:
#   waves_data.csv       one row per respondent: design, community, building, household,
#                        y (0/1), weight, N (community households), B (community buildings),
#                        M (building households)
#   waves_reference.csv  design, domain ("" = whole sample), estimate, se  (%.17g)
# R is not a test dependency: the outputs are committed; re-run only to extend them.
suppressMessages(library(survey))
set.seed(20261130)
g17 <- function(x) sprintf("%.17g", x)

communities <- list(C01 = c(16, 16, 16, 16), C02 = c(10, 12, 9, 14, 11), C03 = c(30, 8, 22))
rows <- list()
add <- function(design, comm, b, h, y, w) {
  rows[[length(rows) + 1]] <<- data.frame(
    design = design, community = comm, building = sprintf("%s/%d", comm, b),
    household = sprintf("%s/%d-%02d", comm, b, h), y = y, weight = w,
    N = sum(communities[[comm]]), B = length(communities[[comm]]),
    M = communities[[comm]][b], stringsAsFactors = FALSE)
}
p_of <- c(C01 = 0.97, C02 = 0.9, C03 = 0.99)

# One-stage designs (census with non-response, srs, systematic, upload with k/N): the
# households that answered, weights 1/pi x eligible/respondents within community x building.
for (design in c("census", "srs")) {
  for (comm in names(communities)) {
    sizes <- communities[[comm]]
    n_take <- if (design == "census") sum(sizes) else ceiling(sum(sizes) / 2)
    pi <- n_take / sum(sizes)
    frame <- do.call(rbind, lapply(seq_along(sizes), function(b) data.frame(b = b, h = seq_len(sizes[b]))))
    drawn <- frame[sort(sample(nrow(frame), n_take)), ]
    answered <- drawn[runif(nrow(drawn)) < 0.7, ]
    for (b in unique(drawn$b)) {
      d_b <- sum(drawn$b == b); r_b <- answered[answered$b == b, ]
      if (nrow(r_b) == 0) next
      w <- (1 / pi) * d_b / nrow(r_b)
      for (i in seq_len(nrow(r_b))) add(design, comm, b, r_b$h[i], as.integer(runif(1) < p_of[[comm]]), w)
    }
  }
}
# Two-stage, buildings with equal probability (2 per community), then 5 households each.
for (comm in names(communities)) {
  sizes <- communities[[comm]]
  chosen <- sort(sample(length(sizes), 2))
  for (b in chosen) {
    hh <- sort(sample(sizes[b], 5))
    for (h in hh) add("two-stage", comm, b, h, as.integer(runif(1) < p_of[[comm]]),
                      (length(sizes) / 2) * (sizes[b] / 5))
  }
}
data <- do.call(rbind, rows)
write.csv(data, "waves_data.csv", row.names = FALSE)

out <- list()
put <- function(design, domain, est, se) {
  out[[length(out) + 1]] <<- data.frame(design = design, domain = domain, estimate = g17(est), se = g17(se))
}
run <- function(design, des) {
  whole <- svymean(~y, des)
  put(design, "", coef(whole), SE(whole))
  by <- svyby(~y, ~community, des, svymean)
  for (i in seq_len(nrow(by))) put(design, by$community[i], by$y[i], by$se[i])
}
for (design in c("census", "srs")) {
  d <- data[data$design == design, ]
  # Each respondent its own PSU, communities as strata, fpc = N households.
  run(design, svydesign(ids = ~household, strata = ~community, weights = ~weight, fpc = ~N, data = d))
}
d <- data[data$design == "two-stage", ]
run("two-stage", svydesign(ids = ~building + household, strata = ~community, weights = ~weight,
                           fpc = ~B + M, data = d))
run("two-stage-pps", svydesign(ids = ~building, strata = ~community, weights = ~weight, data = d))
write.csv(do.call(rbind, out), "waves_reference.csv", row.names = FALSE, quote = FALSE)
