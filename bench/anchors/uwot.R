# uwot's UMAP on a .npy matrix, for comparing quality on the very data musicmap's bench uses.
# Not part of musicmap; needs Debian's r-cran-uwot (apt-get install r-cran-uwot).
#
#   Rscript bench/anchors/uwot.R X.npy Y.npy [threads] [n_neighbors] [min_dist]
#   musicmap reduce --in X.npy --labels L.npy --score Y.npy
#
# Reads a little-endian float32 C-order 2-D .npy, writes the 2-D layout the same way, prints seconds.
read_npy <- function(path) {
  con <- file(path, "rb"); on.exit(close(con))
  magic <- readBin(con, "raw", 6)
  stopifnot(identical(magic, as.raw(c(0x93, charToRaw("NUMPY")))))
  ver <- readBin(con, "integer", 2, size = 1)
  hlen <- if (ver[1] == 1) readBin(con, "integer", 1, size = 2, endian = "little", signed = FALSE)
          else readBin(con, "integer", 1, size = 4, endian = "little")
  header <- rawToChar(readBin(con, "raw", hlen))
  stopifnot(grepl("'<f4'", header), grepl("'fortran_order': False", header))
  dims <- as.integer(strsplit(sub(".*\\((\\d+), *(\\d+)\\).*", "\\1 \\2", header), " ")[[1]])
  v <- readBin(con, "numeric", dims[1] * dims[2], size = 4, endian = "little")
  matrix(v, nrow = dims[1], ncol = dims[2], byrow = TRUE)
}
write_npy <- function(path, m) {
  header <- sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", nrow(m), ncol(m))
  pad <- 64 - ((10 + nchar(header) + 1) %% 64)
  header <- paste0(header, strrep(" ", pad %% 64), "\n")
  con <- file(path, "wb"); on.exit(close(con))
  writeBin(as.raw(c(0x93, charToRaw("NUMPY"), 1, 0)), con)
  writeBin(as.integer(nchar(header)), con, size = 2, endian = "little")
  writeBin(charToRaw(header), con)
  writeBin(as.numeric(t(m)), con, size = 4, endian = "little")
}
args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args) >= 3) as.integer(args[3]) else 2L
k <- if (length(args) >= 4) as.integer(args[4]) else 15L
md <- if (length(args) >= 5) as.numeric(args[5]) else 0.1
x <- read_npy(args[1])
t0 <- Sys.time()
y <- uwot::umap(x, n_neighbors = k, min_dist = md, n_threads = threads, n_sgd_threads = threads,
                init = "spectral", verbose = FALSE)
cat(sprintf("uwot %s: %d x %d in %.2f s\n", as.character(packageVersion("uwot")), nrow(x), ncol(x),
            as.numeric(difftime(Sys.time(), t0, units = "secs"))))
write_npy(args[2], y)
