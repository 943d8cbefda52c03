@echo off
rem duo-collect.cmd: run the duopipe pipeline once for each kind, for
rem cmd.exe and Windows Task Scheduler.  See duo-collect(1).
rem
rem   duo-collect.cmd [-c conf] [-d statedir] [-o outdir] [-f format] [kind ...]
rem
rem Every path comes from the arguments or from this script's folder,
rem never from the working directory: relative arguments are taken
rem relative to this folder; the defaults are duo.conf, state\ and out\
rem here.  The tools (duo-ckpt.exe, duo-get.exe, duo-fmt.exe) are run
rem from this folder only.  cmd pipes give no status per stage, so the
rem stages pass their data through files in a fresh temporary folder
rem under the state directory, and each stage's errorlevel is kept.  The
rem exit status is the worst of all stages and kinds: 2, then 1, then 3,
rem then 0 (any other code counts as 1), so that Task Scheduler's "Last
rem Run Result" shows it.
setlocal EnableExtensions DisableDelayedExpansion

set "HERE=%~dp0"
pushd "%HERE%" || exit /b 1
set "CONF=%HERE%duo.conf"
set "STATE=%HERE%state"
set "OUT=%HERE%out"
set "FMTOPT="
set "KINDS="
set "WORST=0"

for %%T in (duo-ckpt duo-get duo-fmt) do (
	if not exist "%HERE%%%T.exe" (
		echo duo-collect: %HERE%%%T.exe: not found 1>&2
		popd
		endlocal & exit /b 2
	)
)

:args
set "A=%~1"
if not defined A goto argsdone
if "%A%"=="-c" goto optc
if "%A%"=="-d" goto optd
if "%A%"=="-o" goto opto
if "%A%"=="-f" goto optf
if "%A:~0,1%"=="-" goto usage
set "OK="
for %%K in (auth admin telephony activity offline trustmonitor) do (
	if "%%K"=="%A%" set "OK=1"
)
if not defined OK (
	echo duo-collect: %A%: unknown kind 1>&2
	popd
	endlocal & exit /b 2
)
set "KINDS=%KINDS% %A%"
shift
goto args

:optc
if "%~2"=="" goto usage
call :abs CONF "%~2"
shift
shift
goto args
:optd
if "%~2"=="" goto usage
call :abs STATE "%~2"
shift
shift
goto args
:opto
if "%~2"=="" goto usage
call :abs OUT "%~2"
shift
shift
goto args
:optf
if "%~2"=="" goto usage
set "FMTOPT=-f %~2"
shift
shift
goto args

:usage
echo usage: duo-collect [-c conf] [-d statedir] [-o outdir] [-f format] [kind ...] 1>&2
popd
endlocal & exit /b 2

:argsdone
if not defined KINDS set "KINDS= auth admin telephony activity"
for %%K in (%KINDS%) do call :runkind %%K
popd
endlocal & exit /b %WORST%

rem ---- runkind KIND: the four stages, through files ----
:runkind
set "K=%~1"
set /a N=0
:mktmp
set /a N+=1
if %N% GTR 100 (
	echo duo-collect: %K%: cannot make a temporary folder in %STATE% 1>&2
	call :note "mkdir" %K% 1
	exit /b 0
)
set "TMPD=%STATE%\.collect-%K%-%RANDOM%%RANDOM%"
mkdir "%TMPD%" 2>nul || goto mktmp

"%HERE%duo-ckpt.exe" -d "%STATE%" get %K% >"%TMPD%\cursor"
set "RC=%ERRORLEVEL%"
call :note "duo-ckpt get" %K% %RC%
if not "%RC%"=="0" goto cleanup

"%HERE%duo-get.exe" -C -c "%CONF%" -s - %K% <"%TMPD%\cursor" >"%TMPD%\records"
set "RC=%ERRORLEVEL%"
call :note "duo-get" %K% %RC%

"%HERE%duo-fmt.exe" %FMTOPT% <"%TMPD%\records" >"%TMPD%\lines"
set "RC=%ERRORLEVEL%"
call :note "duo-fmt" %K% %RC%

"%HERE%duo-ckpt.exe" -d "%STATE%" commit -o "%OUT%" %K% <"%TMPD%\lines"
set "RC=%ERRORLEVEL%"
call :note "duo-ckpt commit" %K% %RC%

:cleanup
del /q "%TMPD%\cursor" "%TMPD%\records" "%TMPD%\lines" 2>nul
rmdir "%TMPD%" 2>nul
exit /b 0

rem ---- note STAGE KIND STATUS: report a failure, keep the worst ----
:note
if "%~3"=="0" exit /b 0
echo duo-collect: %~2: %~1 exited %~3 1>&2
set "S=%~3"
if not "%S%"=="1" if not "%S%"=="2" if not "%S%"=="3" set "S=1"
call :rank %S% NEW
call :rank %WORST% OLD
if %NEW% GTR %OLD% set "WORST=%S%"
exit /b 0

:rank
if "%~1"=="0" set "%~2=0"
if "%~1"=="3" set "%~2=1"
if "%~1"=="1" set "%~2=2"
if "%~1"=="2" set "%~2=3"
exit /b 0

rem ---- abs VAR PATH: PATH made absolute, relative to this folder ----
:abs
pushd "%HERE%"
set "%~1=%~f2"
popd
exit /b 0
